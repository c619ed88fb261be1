import sys, json, pyarrow.parquet as pq
def check(pa, pb):
    a=pq.ParquetFile(pa); b=pq.ParquetFile(pb)
    ma=a.metadata.metadata; mb=b.metadata.metadata
    A=open(pa,'rb').read();B=open(pb,'rb').read()
    B2=B.replace(mb[b'ARROW:schema'],ma[b'ARROW:schema']).replace(mb[b'minex.run_id'],ma[b'minex.run_id'])
    ja=json.load(open(pa.replace('.parquet','.manifest.json'))); jb=json.load(open(pb.replace('.parquet','.manifest.json')))
    diff=[k for k in ja if ja[k]!=jb[k] and k not in ('run_id','started','finished','seconds','outputs')]
    ra=open(pa.replace('.parquet','.rejects.csv'),'rb').read(); rb=open(pb.replace('.parquet','.rejects.csv'),'rb').read()
    print(pa, "| extract bytes equal but run id:", A==B2, "| rows", a.metadata.num_rows, "| manifest differs in:", diff or "nothing but run id/times/output digest", "| rejects equal:", ra==rb, "| k_anonymity:", json.dumps(ja.get('k_anonymity',{}) and {k:ja['k_anonymity'][k] for k in ('k','classes','suppressed','smallest_class')}))
for a,b in zip(sys.argv[1::2], sys.argv[2::2]): check(a,b)
