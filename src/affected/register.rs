//! Reading the register: the people to look for (by their identity numbers) and, for each key
//! space, the tokens and ciphertexts their values were written as.

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Array, StringArray};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::ident::date::Date;
use crate::io::{Input, ReadOptions};
use crate::keys::{Encryptor, KeyRing, TOKEN_BYTES, Tokenizer};
use crate::policy::{Action, ColumnSpec, Policy, ValueType};
use crate::transform::canonical::{as_utf8, canonicalize_with};

use super::*;

/// Tokenize or encrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Token,
    Encrypt,
}

/// One `(kind, space)` whose values are matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Space {
    pub(super) kind: Kind,
    pub(super) space: String,
}

impl Space {
    /// `token/SPACE` or `encrypt/SPACE`.
    pub(super) fn label(&self) -> String {
        match self.kind {
            Kind::Token => format!("token/{}", self.space),
            Kind::Encrypt => format!("encrypt/{}", self.space),
        }
    }
}

/// The keyed construction of one space.
pub(super) enum Matcher {
    Token(Tokenizer),
    Encrypt(Box<Encryptor>),
}

/// What is read from the register: identity-number columns and row-rule columns.
pub(super) struct RegisterScan<'p> {
    pub(super) policy: &'p Policy,
    /// Column names read, in header order.
    pub(super) read: Vec<String>,
    /// (spec, index in `read`, index in `spaces`).
    pub(super) pnr_columns: Vec<(&'p ColumnSpec, usize, usize)>,
    pub(super) spaces: Vec<Space>,
    /// Per rule: index in `read`, and the typed column's spec (`None` for a `string` rule).
    pub(super) rules: Vec<(usize, Option<&'p ColumnSpec>)>,
}

impl<'p> RegisterScan<'p> {
    pub(super) fn new(policy: &'p Policy, header: &[String]) -> Result<RegisterScan<'p>> {
        let mut wanted: Vec<&str> = Vec::new();
        let mut pnr = Vec::new();
        let mut spaces: Vec<Space> = Vec::new();
        for c in &policy.columns {
            if c.value_type != ValueType::Personnummer {
                continue;
            }
            let space = match &c.action {
                Action::Tokenize { space } => Space {
                    kind: Kind::Token,
                    space: space.clone(),
                },
                Action::Encrypt { space } => Space {
                    kind: Kind::Encrypt,
                    space: space.clone(),
                },
                _ => continue,
            };
            let si = match spaces.iter().position(|s| *s == space) {
                Some(i) => i,
                None => {
                    spaces.push(space);
                    spaces.len() - 1
                }
            };
            wanted.push(&c.name);
            pnr.push((c, si));
        }
        if pnr.is_empty() {
            return Err(Error::usage(format!(
                "policy `{}` tokenizes or encrypts no `type: personnummer` column, so its extracts hold no token `minex affected` can recognise",
                policy.name
            )));
        }
        if spaces.len() > MAX_SPACES {
            return Err(Error::usage(format!(
                "policy `{}` tokenizes identity numbers in {} spaces; `minex affected` handles at most {MAX_SPACES}",
                policy.name,
                spaces.len()
            )));
        }
        for r in &policy.rules {
            wanted.push(&r.column);
        }
        let read: Vec<String> = header
            .iter()
            .filter(|h| wanted.contains(&h.as_str()))
            .cloned()
            .collect();
        let pos = |name: &str| {
            read.iter()
                .position(|h| h == name)
                .ok_or_else(|| Error::internal(format!("column `{name}` is not read")))
        };
        let pnr_columns = pnr
            .into_iter()
            .map(|(c, si)| Ok((c, pos(&c.name)?, si)))
            .collect::<Result<Vec<_>>>()?;
        let rules = policy
            .rules
            .iter()
            .map(|r| {
                let typed = if r.value_type == ValueType::String {
                    None
                } else {
                    Some(policy.column(&r.column).ok_or_else(|| {
                        Error::internal("a typed row rule's column is not in the policy")
                    })?)
                };
                Ok((pos(&r.column)?, typed))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RegisterScan {
            policy,
            read,
            pnr_columns,
            spaces,
            rules,
        })
    }

    pub(super) fn matchers(&self, ring: &KeyRing) -> Vec<Matcher> {
        self.spaces
            .iter()
            .map(|s| match s.kind {
                Kind::Token => Matcher::Token(ring.tokenizer(&s.space)),
                Kind::Encrypt => Matcher::Encrypt(Box::new(ring.encryptor(&s.space))),
            })
            .collect()
    }

    pub(super) fn key_ids(&self, ring: &KeyRing) -> BTreeMap<String, String> {
        let mut ids = BTreeMap::new();
        for s in &self.spaces {
            ring.record_key_ids(&mut ids, &s.space, s.kind == Kind::Encrypt);
        }
        ids
    }

    /// Reads the register and makes the token → person maps.
    pub(super) fn build_index(
        &self,
        inputs: &[Input],
        read: &ReadOptions,
        matchers: &[Matcher],
        reference: Date,
    ) -> Result<Index> {
        let mut index = Index::default();
        let mut by_pnr: HashMap<[u8; 12], u32> = HashMap::new();
        for input in inputs {
            let mut reader = input.batches(&self.read, read)?;
            while let Some((_, batch)) = reader.next_batch()? {
                let n = batch.num_rows();
                // Row rules, as the run evaluates them: the first that matches drops the row.
                let mut dropped = vec![false; n];
                for (r, (col, typed)) in self.rules.iter().enumerate() {
                    let cond = &self.policy.rules[r].condition;
                    let raw = as_utf8(batch.column(*col), &self.read[*col])?;
                    let typed_text = match typed {
                        Some(spec) => Some(
                            canonicalize_with(spec, batch.column(*col), reference, true)?
                                .0
                                .text
                                .ok_or_else(|| {
                                    Error::internal("a row rule needs canonical text")
                                })?,
                        ),
                        None => None,
                    };
                    for (i, d) in dropped.iter_mut().enumerate() {
                        if !*d
                            && minex_core::transformer::rule_matches(
                                &raw,
                                typed_text.as_ref(),
                                i,
                                cond,
                            )
                        {
                            *d = true;
                        }
                    }
                }
                // Identity numbers: new (person, space) pairs get their token.
                let mut todo: Vec<(u32, u8)> = Vec::new();
                for (spec, col, si) in &self.pnr_columns {
                    let (canon, _invalid) =
                        canonicalize_with(spec, batch.column(*col), reference, true)?;
                    let text = canon.text.ok_or_else(|| {
                        Error::internal("an identity number column has no canonical text")
                    })?;
                    let bit = 1u64 << *si;
                    for (i, d) in dropped.iter().enumerate() {
                        let Some(p) = canonical_pnr(&text, i) else {
                            continue;
                        };
                        let next = u32::try_from(index.people.len()).map_err(|_| {
                            Error::usage("the register holds more than 4 billion people")
                        })?;
                        let pi = *by_pnr.entry(p).or_insert_with(|| {
                            index.people.push(Person {
                                pnr: p,
                                protected: false,
                                spaces: 0,
                            });
                            next
                        });
                        let person = &mut index.people[pi as usize];
                        person.protected |= *d;
                        if person.spaces & bit == 0 {
                            person.spaces |= bit;
                            // `si` < 64, so it fits a byte.
                            todo.push((pi, *si as u8));
                        }
                    }
                }
                let people = &index.people;
                let made: Vec<(u32, u8, Made)> = todo
                    .par_iter()
                    .map(|(pi, si)| {
                        let value = &people[*pi as usize].pnr;
                        let m = match &matchers[*si as usize] {
                            Matcher::Token(t) => Made::Token(t.token_bytes(value)),
                            Matcher::Encrypt(e) => Made::Cipher(encrypt_raw(e, value)),
                        };
                        (*pi, *si, m)
                    })
                    .collect();
                for (pi, si, m) in made {
                    match m {
                        Made::Token(t) => {
                            index.tokens.insert(t, (pi, si));
                        }
                        Made::Cipher(Some(c)) => {
                            index.ciphers.insert(c, (pi, si));
                        }
                        Made::Cipher(None) => {
                            return Err(Error::internal(
                                "a ciphertext of an identity number has an unexpected length",
                            ));
                        }
                    }
                }
            }
        }
        Ok(index)
    }
}

/// A token or ciphertext just made.
enum Made {
    Token([u8; TOKEN_BYTES]),
    Cipher(Option<[u8; CIPHER_BYTES]>),
}

/// The raw bytes (nonce ‖ ciphertext ‖ tag) of `value`'s ciphertext.
fn encrypt_raw(e: &Encryptor, value: &[u8]) -> Option<[u8; CIPHER_BYTES]> {
    let text = e.encrypt(value);
    let raw = URL_SAFE_NO_PAD.decode(text.as_bytes()).ok()?;
    raw.try_into().ok()
}

/// The canonical 12 bytes of row `i`, when valid.
fn canonical_pnr(text: &StringArray, i: usize) -> Option<[u8; 12]> {
    if text.is_null(i) {
        return None;
    }
    text.value(i).as_bytes().try_into().ok()
}

/// One person of the register.
pub(super) struct Person {
    pub(super) pnr: [u8; 12],
    /// A row holding the number is dropped by a row rule.
    pub(super) protected: bool,
    /// Bit `i`: the token of space `i` is in the maps.
    pub(super) spaces: u64,
}

/// The register's tokens.
#[derive(Default)]
pub(super) struct Index {
    pub(super) people: Vec<Person>,
    /// Token bytes → (person, space).
    pub(super) tokens: HashMap<[u8; TOKEN_BYTES], (u32, u8)>,
    /// Ciphertext bytes → (person, space).
    pub(super) ciphers: HashMap<[u8; CIPHER_BYTES], (u32, u8)>,
}
