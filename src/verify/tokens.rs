//! Tokens recomputed from the input with the `hkdf` and `hmac` crates directly.

use std::collections::{HashMap, HashSet};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::ident;
use crate::ident::date::Date;
use crate::ident::personnummer::{ParseOptions, Pnr};
use crate::io::Input;
use crate::keys::MasterKey;
use crate::policy::{Action, Policy, ValueType};

use super::*;

pub(super) fn verify_tokens(
    policy: &Policy,
    key: &MasterKey,
    cfg: &VerifyConfig,
    samples: &HashMap<String, Vec<String>>,
    report: &mut VerifyReport,
) -> Result<()> {
    let inputs: Vec<Input> = cfg
        .inputs
        .iter()
        .map(|p| Input::open(p, &cfg.read))
        .collect::<Result<_>>()?;
    let opts = ParseOptions {
        reference: policy.reference_date,
        allow_interim: true,
    };
    for c in &policy.columns {
        let Action::Tokenize { space } = &c.action else {
            continue;
        };
        let Some(sample) = samples.get(&c.name) else {
            continue;
        };
        // HKDF and HMAC straight from the crates, not through `crate::keys`.
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"minex/v1"), key.as_bytes());
        let mut info = b"token\0".to_vec();
        info.extend_from_slice(policy.domain.as_bytes());
        info.push(0);
        info.extend_from_slice(space.as_bytes());
        let mut okm = zeroize::Zeroizing::new([0u8; 32]);
        hk.expand(&info, &mut okm[..])
            .map_err(|_| Error::internal("HKDF expand"))?;
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&okm[..])
            .map_err(|_| Error::internal("HMAC key"))?;
        let want: HashSet<&str> = sample.iter().map(String::as_str).collect();
        let mut found: HashSet<String> = HashSet::new();
        let mut buf = String::new();
        for input in &inputs {
            let mut r = input.batches(std::slice::from_ref(&c.name), &cfg.read)?;
            while let Some((_, b)) = r.next_batch()? {
                let Some(t) = render(b.column(0)) else {
                    continue;
                };
                for v in t.iter().flatten() {
                    let canon: Option<Vec<u8>> = match c.value_type {
                        ValueType::Personnummer => {
                            Pnr::parse(v, &opts).ok().map(|p| p.canonical().to_vec())
                        }
                        ValueType::Email => {
                            buf.clear();
                            ident::email::canonicalize(v, &mut buf)
                                .ok()
                                .map(|()| buf.as_bytes().to_vec())
                        }
                        ValueType::Phone => {
                            buf.clear();
                            ident::phone::canonicalize(v, &mut buf)
                                .ok()
                                .map(|()| buf.as_bytes().to_vec())
                        }
                        ValueType::PostalCode => {
                            ident::postal::canonicalize(v).ok().map(|c| c.to_vec())
                        }
                        ValueType::String => Some(v.as_bytes().to_vec()),
                        ValueType::Integer => {
                            ident::parse_i64(v).ok().map(|i| i.to_string().into_bytes())
                        }
                        ValueType::Boolean => ident::parse_bool(v)
                            .ok()
                            .map(|b| b.to_string().into_bytes()),
                        ValueType::Date => Date::parse(v).map(|d| d.to_string().into_bytes()),
                    };
                    if let Some(canon) = canon {
                        let mut m = mac.clone();
                        m.update(&canon);
                        let t = hex::encode(&m.finalize().into_bytes()[..16]);
                        if want.contains(t.as_str()) {
                            found.insert(t);
                        }
                    }
                }
            }
        }
        let missing = want.len() - found.len();
        report.check(
            missing == 0,
            "tokens",
            Some(&c.name),
            format!(
                "{} of {} sampled tokens recomputed from the input with the key",
                found.len(),
                want.len()
            ),
        );
    }
    Ok(())
}
