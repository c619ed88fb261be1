"""The Python binding against the core's contract: known answers, layouts, errors, and the
same bytes as the `minex` CLI."""

import json
import subprocess
from collections import Counter

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import minex
from conftest import KAT, SCHEMAS, TEST_KEY_HEX, cli

POLICY = """
version: 1
name: t
domain: test-domain
reference_date: 2026-01-01
columns:
  pnr: { type: personnummer, action: tokenize, space: person, on_invalid: reject }
  mail: { type: email, action: encrypt, space: contact, on_invalid: reject }
  note: drop
"""


def batch(**columns):
    return pa.record_batch({k: pa.array(v, pa.string()) for k, v in columns.items()})


def test_known_answers_through_transform():
    kat = json.loads(KAT.read_text())
    checked = 0
    for e in kat["entries"]:
        policy = minex.Policy.from_yaml(
            f"version: 1\nname: kat\ndomain: {e['domain']}\nreference_date: 2026-01-01\n"
            f"columns:\n  t: {{ type: string, action: tokenize, space: {e['space']} }}\n"
            f"  c: {{ type: string, action: encrypt, space: {e['space']} }}\n"
        )
        tx = minex.Transformer(policy, key_hex=e["master_key"])
        vectors = [v for v in e["values"] if v["value"]]
        values = [v["value"] for v in vectors]
        out = tx.transform(batch(t=values, c=values))
        assert out.batch.column("t").to_pylist() == [v["token"] for v in vectors]
        assert out.batch.column("c").to_pylist() == [v["ciphertext"] for v in vectors]
        assert tx.key_ids(batch(t=values, c=values))[f"token/{e['space']}"] == e["keys"]["token"]["key_id"]
        checked += len(vectors)
    assert checked >= 30


def test_dictionary_large_and_view_layouts_give_the_same_output():
    tx = minex.Transformer(minex.Policy.from_yaml(POLICY), key_hex=TEST_KEY_HEX)
    pnr = ["19460823-9986", "460823-9986", None, "19460823-9987", "19900101-2385"] * 40
    mail = ["A@Example.se", "a@example.se", "bad", None, "b@example.se"] * 40
    note = ["x"] * 200
    plain = tx.transform(batch(pnr=pnr, mail=mail, note=note))
    assert plain.rejected > 0 and plain.batch.num_rows > 0
    for layout in (
        lambda v: pa.array(v, pa.string()).dictionary_encode(),
        lambda v: pa.array(v, pa.large_string()),
        lambda v: pa.array(v, pa.string_view()),
    ):
        other = tx.transform(pa.record_batch({"pnr": layout(pnr), "mail": layout(mail), "note": layout(note)}))
        assert other.batch.equals(plain.batch)
        assert other.rejects.equals(plain.rejects)
        assert (other.filtered, other.rejected) == (plain.filtered, plain.rejected)


def test_on_invalid_fail_raises_with_the_location_and_no_value():
    policy = minex.Policy.from_yaml(POLICY.replace("on_invalid: reject }\n  mail", "on_invalid: fail }\n  mail"))
    tx = minex.Transformer(policy, key_hex=TEST_KEY_HEX)
    planted = "19460823-9987"
    with pytest.raises(minex.DataError) as err:
        tx.transform(batch(pnr=["19460823-9986", planted], mail=[None, None], note=["a", "b"]))
    text = str(err.value)
    assert "row 2" in text and "`pnr`" in text and "checksum" in text
    assert planted not in text and "9987" not in text
    assert err.value.exit_code == 4 and err.value.category == "data"
    assert isinstance(err.value, minex.MinexError)


def test_policy_errors_are_listed_at_once():
    with pytest.raises(minex.PolicyError) as err:
        minex.Policy.from_yaml("version: 1\ncolumns:\n  a: frobnicate\n")
    text = str(err.value)
    assert "4 problems" in text
    for where in ("`name`", "`domain`", "`reference_date`", "`columns.a`"):
        assert where in text
    assert err.value.exit_code == 3
    # An input column the policy does not name stops the transform (fail closed).
    tx = minex.Transformer(minex.Policy.from_yaml(POLICY), key_hex=TEST_KEY_HEX)
    with pytest.raises(minex.PolicyError) as err:
        tx.transform(batch(pnr=["x"], mail=["y"], note=["z"], extra=["w"]))
    assert "`extra`" in str(err.value)


def test_keys_are_refused_when_unsafe_and_never_echoed(tmp_path, monkeypatch):
    policy = minex.Policy.from_yaml(POLICY)
    loose = tmp_path / "loose.key"
    loose.write_text(TEST_KEY_HEX)
    loose.chmod(0o644)
    with pytest.raises(minex.MasterKeyError) as err:
        minex.Transformer(policy, key_file=loose)
    assert "chmod 600" in str(err.value) and TEST_KEY_HEX not in str(err.value)
    bad = TEST_KEY_HEX[:60] + "zzzz"
    with pytest.raises(minex.MasterKeyError) as err:
        minex.Transformer(policy, key_hex=bad)
    assert bad not in str(err.value) and bad[:16] not in str(err.value)
    monkeypatch.delenv("MINEX_KEY", raising=False)
    with pytest.raises(minex.MasterKeyError):
        minex.Transformer(policy)
    monkeypatch.setenv("MINEX_KEY", f"  {TEST_KEY_HEX}\n")
    env = minex.Transformer(policy).transform(batch(pnr=["19460823-9986"], mail=[None], note=["a"]))
    given = minex.Transformer(policy, key_hex=TEST_KEY_HEX).transform(batch(pnr=["19460823-9986"], mail=[None], note=["a"]))
    assert env.batch.equals(given.batch)


def read_register(path):
    """The register as the CLI reads it: every column text, empty fields null."""
    names = pacsv.read_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 20)).column_names
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=True
        ),
    )


@pytest.mark.parametrize("policy_name", ["school-supplier", "research", "research-ladders"])
def test_the_same_extract_and_rejects_as_the_cli(policy_name, register, key_file, tmp_path):
    policy_path = SCHEMAS / f"{policy_name}.yaml"
    if policy_name == "research":
        # 20,000 rows have smaller classes than the register the policy is made for: allow
        # the suppression, so that both sides suppress rather than stop.
        text = policy_path.read_text().replace("max_suppression: 0.05", "max_suppression: 0.9")
        assert text != policy_path.read_text()
        policy_path = tmp_path / "research.yaml"
        policy_path.write_text(text)
    out = tmp_path / "x.parquet"
    subprocess.run(
        [str(cli()), "run", "--policy", str(policy_path), "--input", str(register),
         "--out", str(out), "--key-file", str(key_file)],
        check=True, capture_output=True,
    )
    expected = pq.read_table(out)
    manifest = json.loads((tmp_path / "x.manifest.json").read_text())

    tx = minex.Transformer(minex.Policy.from_file(policy_path), key_file=key_file)
    table = read_register(register)
    batches = table.to_batches(max_chunksize=4096)
    gate = None
    if manifest.get("k_anonymity"):
        counts = minex.ClassCounts()
        for b in batches:
            part = minex.ClassCounts()
            tx.count_classes(b, part)
            counts.merge(minex.ClassCounts.from_bytes(part.to_bytes()))
        gate = tx.gate(counts)
    outs = [tx.transform_gated(b, gate) if gate else tx.transform(b) for b in batches]
    got = pa.Table.from_batches([o.batch for o in outs])
    assert got.num_rows == expected.num_rows
    # Same rows in the same order, every value (tokens, ciphertexts, generalizations).
    assert got.to_pylist() == expected.to_pylist()
    rows = manifest["rows"]
    assert sum(o.filtered for o in outs) == rows["filtered"]
    assert sum(o.rejected for o in outs) == rows["rejected"]
    assert sum(o.suppressed for o in outs) == rows["suppressed"]
    reasons = Counter()
    for o in outs:
        reasons.update(o.rejected_by_reason)
    assert dict(reasons) == rows["rejected_by_reason"]
    if gate:
        assert rows["suppressed"] > 0
        info = json.loads(gate.info_json(got.num_rows))
        assert info["suppressed"] == manifest["k_anonymity"]["suppressed"]
        # With ladders, the same search result: levels, height, nodes.
        assert info.get("search") == manifest["k_anonymity"].get("search")
        if policy_name == "research-ladders":
            assert info["search"]["nodes"] == 9
            assert gate.levels == manifest["k_anonymity"]["search"]["levels"]
            assert got.schema == expected.schema


def test_arrow_data_crosses_without_copies():
    """A kept text column comes back in the very buffers it went in with: no copy into Rust,
    none back to pyarrow (the Arrow C data interface)."""
    policy = minex.Policy.from_yaml(
        "version: 1\nname: z\ndomain: test-domain\nreference_date: 2026-01-01\n"
        "columns:\n  city: keep\n"
    )
    tx = minex.Transformer(policy, key_hex=TEST_KEY_HEX)
    city = pa.array(["Uppsala", "Lund", None, "Malmö"] * 1000, pa.string())
    out = tx.transform(pa.record_batch({"city": city}))
    got = out.batch.column("city")
    assert got.equals(city)
    # validity, offsets and data buffers: the same memory.
    assert [b.address for b in got.buffers() if b is not None] == [
        b.address for b in city.buffers() if b is not None
    ]
