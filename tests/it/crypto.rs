//! Cryptographic tests for `minex::keys`.
//!
//! 1. Project Wycheproof vectors for the two primitives minex wires (HMAC-SHA256 and
//!    AES-GCM-SIV), every test of both files, with counts checked against `numberOfTests`.
//! 2. minex's own constructions (derived keys, tokens, ciphertexts), recomputed here directly
//!    with the underlying crates, following DESIGN.md "Keys and cryptographic constructions".
//! 3. The known-answer file `tests/data/kat.json`, generated independently in Python by
//!    `tests/data/make_kat.py`.
//!
//! Every master key in this file is a published TEST key; never use one for real data.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use aes_gcm_siv::aead::consts::{U12, U16};
use aes_gcm_siv::aead::inout::InOutBuf;
use aes_gcm_siv::{AeadCore, AeadInOut, Aes128GcmSiv, Aes256GcmSiv, KeyInit, Nonce, Tag};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use minex::keys::{
    DecryptError, DerivedKey, Encryptor, KeyRing, MasterKey, NONCE_BYTES, Purpose, TAG_BYTES,
    TOKEN_BYTES, TOKEN_HEX_LEN, Tokenizer,
};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const WYCHEPROOF_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/testdata/wycheproof");
const SKATTEVERKET_TEST_PNR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/testdata/skatteverket/testpersonnummer.json"
);
const KAT_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/kat.json");

/// TEST master key: bytes 0x00..0x1f. Never use it for real data.
const TEST_MASTER_KEY_HEX: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// A second TEST master key: 32 bytes of 0x42. Never use it for real data.
const OTHER_TEST_MASTER_KEY_HEX: &str =
    "4242424242424242424242424242424242424242424242424242424242424242";

const ALL_PURPOSES: [Purpose; 3] = [Purpose::Token, Purpose::Encrypt, Purpose::Nonce];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("field `{key}` is not a string in {v}"))
}

fn hex_field(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(str_field(v, key)).unwrap_or_else(|e| panic!("field `{key}` is not hex: {e}"))
}

fn u64_field(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("field `{key}` is not a number in {v}"))
}

fn array_field<'a>(v: &'a Value, key: &str) -> &'a Vec<Value> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("field `{key}` is not an array"))
}

fn test_master() -> MasterKey {
    MasterKey::from_hex(TEST_MASTER_KEY_HEX).unwrap()
}

fn test_ring(domain: &str) -> KeyRing {
    KeyRing::new(test_master(), domain)
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// HKDF-SHA256 exactly as DESIGN.md states it, with the `hkdf` crate.
fn design_derive(master: &[u8; 32], purpose: &str, domain: &str, space: &str) -> [u8; 32] {
    let mut info = Vec::new();
    info.extend_from_slice(purpose.as_bytes());
    info.push(0);
    info.extend_from_slice(domain.as_bytes());
    info.push(0);
    info.extend_from_slice(space.as_bytes());
    let mut okm = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(Some(b"minex/v1"), master)
        .expand(&info, &mut okm)
        .unwrap();
    okm
}

/// The first `n` official Skatteverket TEST personnummer (never given to a real person).
fn skatteverket_test_personnummer(n: usize) -> Vec<String> {
    let list = read_json(SKATTEVERKET_TEST_PNR);
    let list: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        list.len() >= n,
        "the test list has only {} numbers",
        list.len()
    );
    list.into_iter().take(n).collect()
}

/// Values of several shapes: official TEST personnummer, empty, UTF-8, a case id, and one
/// longer than several AES blocks.
fn sample_values() -> Vec<Vec<u8>> {
    let mut values: Vec<Vec<u8>> = skatteverket_test_personnummer(3)
        .into_iter()
        .map(String::into_bytes)
        .collect();
    values.push(Vec::new());
    values.push("Åsa Öberg-Lindström, Västerås".as_bytes().to_vec());
    values.push("ÄR-2025-00017".as_bytes().to_vec());
    values.push(vec![0xa5; 200]);
    values
}

// ---------------------------------------------------------------------------------------------
// 1. Project Wycheproof
// ---------------------------------------------------------------------------------------------

#[test]
fn wycheproof_hmac_sha256_every_test_including_truncated_tags() {
    let doc = read_json(&format!("{WYCHEPROOF_DIR}/hmac_sha256_test.json"));
    assert_eq!(str_field(&doc, "algorithm"), "HMACSHA256");
    let expected = u64_field(&doc, "numberOfTests");
    assert_eq!(expected, 174, "the vendored file changed");

    let (mut run, mut valid, mut invalid, mut truncated) = (0u64, 0u64, 0u64, 0u64);
    for group in array_field(&doc, "testGroups") {
        let tag_bits = u64_field(group, "tagSize");
        assert_eq!(tag_bits % 8, 0);
        let tag_len = usize::try_from(tag_bits / 8).unwrap();
        let key_bits = u64_field(group, "keySize");
        for t in array_field(group, "tests") {
            let id = u64_field(t, "tcId");
            let key = hex_field(t, "key");
            let msg = hex_field(t, "msg");
            let tag = hex_field(t, "tag");
            assert_eq!(
                key.len() * 8,
                usize::try_from(key_bits).unwrap(),
                "tcId {id}"
            );
            assert_eq!(tag.len(), tag_len, "tcId {id}: tag length vs tagSize");
            let should_pass = match str_field(t, "result") {
                "valid" => true,
                "invalid" => false,
                other => panic!("tcId {id}: unexpected result {other}"),
            };

            // Plain comparison of the computed MAC, truncated to the group's tag size.
            let full = hmac_sha256(&key, &msg);
            assert_eq!(
                full[..tag_len] == tag[..],
                should_pass,
                "tcId {id}: computed tag"
            );

            // The crate's constant-time verification.
            let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&key).unwrap();
            mac.update(&msg);
            let verified = if tag_len == 32 {
                mac.verify_slice(&tag).is_ok()
            } else {
                truncated += 1;
                mac.verify_truncated_left(&tag).is_ok()
            };
            assert_eq!(verified, should_pass, "tcId {id}: Mac::verify");

            run += 1;
            if should_pass {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
    }
    assert_eq!(run, expected, "every Wycheproof HMAC-SHA256 test must run");
    assert_eq!((valid, invalid), (66, 108));
    assert!(truncated > 0, "the truncated-tag groups must run");
}

fn gcm_siv_encrypt<C>(cipher: &C, iv: &[u8], aad: &[u8], msg: &[u8]) -> Vec<u8>
where
    C: AeadInOut + AeadCore<NonceSize = U12>,
{
    let nonce = Nonce::try_from(iv).unwrap();
    let mut buf = msg.to_vec();
    let tag = cipher
        .encrypt_inout_detached(&nonce, aad, InOutBuf::from(&mut buf[..]))
        .unwrap();
    buf.extend_from_slice(&tag);
    buf
}

/// Decrypts `ct` with `tag`; returns the plaintext, or on failure the buffer's content after
/// the failed call (which must not be the plaintext).
fn gcm_siv_decrypt<C>(
    cipher: &C,
    iv: &[u8],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8],
) -> Result<Vec<u8>, Vec<u8>>
where
    C: AeadInOut + AeadCore<NonceSize = U12, TagSize = U16>,
{
    let nonce = Nonce::try_from(iv).unwrap();
    let tag = Tag::try_from(tag).unwrap();
    let mut buf = ct.to_vec();
    match cipher.decrypt_inout_detached(&nonce, aad, InOutBuf::from(&mut buf[..]), &tag) {
        Ok(()) => Ok(buf),
        Err(_) => Err(buf),
    }
}

#[test]
fn wycheproof_aes_gcm_siv_128_and_256_every_test() {
    let doc = read_json(&format!("{WYCHEPROOF_DIR}/aes_gcm_siv_test.json"));
    assert_eq!(str_field(&doc, "algorithm"), "AES-GCM-SIV");
    let expected = u64_field(&doc, "numberOfTests");
    assert_eq!(expected, 202, "the vendored file changed");

    let (mut run, mut valid, mut invalid) = (0u64, 0u64, 0u64);
    let (mut run_128, mut run_256) = (0u64, 0u64);
    for group in array_field(&doc, "testGroups") {
        let key_bits = u64_field(group, "keySize");
        assert_eq!(u64_field(group, "ivSize"), 96);
        assert_eq!(u64_field(group, "tagSize"), 128);
        for t in array_field(group, "tests") {
            let id = u64_field(t, "tcId");
            let key = hex_field(t, "key");
            let iv = hex_field(t, "iv");
            let aad = hex_field(t, "aad");
            let msg = hex_field(t, "msg");
            let ct = hex_field(t, "ct");
            let tag = hex_field(t, "tag");
            assert_eq!(
                key.len() * 8,
                usize::try_from(key_bits).unwrap(),
                "tcId {id}"
            );
            assert_eq!(ct.len(), msg.len(), "tcId {id}");
            let mut wire = ct.clone();
            wire.extend_from_slice(&tag);

            let (sealed, opened) = match key_bits {
                128 => {
                    run_128 += 1;
                    let c = Aes128GcmSiv::new_from_slice(&key).unwrap();
                    (
                        gcm_siv_encrypt(&c, &iv, &aad, &msg),
                        gcm_siv_decrypt(&c, &iv, &aad, &ct, &tag),
                    )
                }
                256 => {
                    run_256 += 1;
                    let c = Aes256GcmSiv::new_from_slice(&key).unwrap();
                    (
                        gcm_siv_encrypt(&c, &iv, &aad, &msg),
                        gcm_siv_decrypt(&c, &iv, &aad, &ct, &tag),
                    )
                }
                other => panic!("tcId {id}: unexpected key size {other}"),
            };

            match str_field(t, "result") {
                "valid" => {
                    assert_eq!(
                        hex::encode(&sealed),
                        hex::encode(&wire),
                        "tcId {id}: encrypt"
                    );
                    assert_eq!(opened, Ok(msg), "tcId {id}: decrypt");
                    valid += 1;
                }
                "invalid" => {
                    assert!(
                        t["flags"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|f| f == "ModifiedTag"),
                        "tcId {id}: an invalid test this file should not have"
                    );
                    // The tag was altered, so encryption gives another `ct || tag`. (In
                    // GCM-SIV the tag is also the counter IV, so `ct` may differ as well.)
                    assert_ne!(sealed, wire, "tcId {id}: encrypt");
                    let leftover = opened.expect_err(&format!("tcId {id}: must not decrypt"));
                    // No plaintext is left in the buffer (the crate re-encrypts on failure).
                    assert_eq!(leftover, ct, "tcId {id}: buffer after failed decryption");
                    if !msg.is_empty() {
                        assert_ne!(leftover, msg, "tcId {id}: plaintext exposed");
                    }
                    invalid += 1;
                }
                other => panic!("tcId {id}: unexpected result {other}"),
            }
            run += 1;
        }
    }
    assert_eq!(run, expected, "every Wycheproof AES-GCM-SIV test must run");
    assert_eq!((valid, invalid), (136, 66));
    assert!(run_128 > 0 && run_256 > 0, "both key sizes must run");
    assert_eq!(run_128 + run_256, expected);
}

// ---------------------------------------------------------------------------------------------
// 2. minex's constructions, recomputed with the underlying crates
// ---------------------------------------------------------------------------------------------

#[test]
fn derived_keys_are_hkdf_sha256_with_design_salt_and_info() {
    let master = test_master();
    for domain in ["skolsystem-ab", "socialtjanst-ab", "domän-å"] {
        for space in ["person", "case"] {
            for purpose in ALL_PURPOSES {
                let got = DerivedKey::derive(&master, purpose, domain, space);
                let want = design_derive(master.as_bytes(), purpose.label(), domain, space);
                assert_eq!(got.as_bytes(), &want, "{purpose:?} {domain} {space}");
                assert_eq!(
                    KeyRing::new(master.clone(), domain)
                        .derive(purpose, space)
                        .as_bytes(),
                    &want
                );
            }
        }
    }
    assert_eq!(Purpose::Token.label(), "token");
    assert_eq!(Purpose::Encrypt.label(), "encrypt");
    assert_eq!(Purpose::Nonce.label(), "nonce");
}

#[test]
fn key_id_is_first_8_bytes_of_hmac_of_key_id_message() {
    let ring = test_ring("skolsystem-ab");
    for space in ["person", "case"] {
        for purpose in ALL_PURPOSES {
            let key = ring.derive(purpose, space);
            let want = hex::encode(&hmac_sha256(key.as_bytes(), b"minex key id")[..8]);
            assert_eq!(key.id(), want);
            assert_eq!(ring.key_id(purpose, space), want);
            assert_eq!(want.len(), 16);
            // The id never reveals the key.
            assert!(!hex::encode(key.as_bytes()).contains(&want));
        }
    }
}

#[test]
fn tokenizer_equals_truncated_hmac_sha256_with_derived_token_key() {
    let ring = test_ring("skolsystem-ab");
    for space in ["person", "case"] {
        let key = ring.derive(Purpose::Token, space);
        let want_key = design_derive(test_master().as_bytes(), "token", "skolsystem-ab", space);
        assert_eq!(key.as_bytes(), &want_key);
        let tokenizer = ring.tokenizer(space);
        let direct = Tokenizer::new(&key);
        for value in sample_values() {
            let full = hmac_sha256(&want_key, &value);
            let want = hex::encode(&full[..TOKEN_BYTES]);
            let token = tokenizer.token(&value);
            assert_eq!(token, want);
            assert_eq!(token.len(), TOKEN_HEX_LEN);
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert_eq!(tokenizer.token_bytes(&value)[..], full[..TOKEN_BYTES]);
            assert_eq!(&tokenizer.token_hex(&value)[..], want.as_bytes());
            assert_eq!(direct.token(&value), want);
        }
    }
}

/// The tokenizer's two-compression path (values of up to 55 bytes) and its `hmac` crate path
/// (longer values) agree with HMAC-SHA256 at every length around the one-block boundary.
#[test]
fn tokenizer_matches_hmac_sha256_at_every_message_length() {
    for (domain, space) in [
        ("skolsystem-ab", "person"),
        ("omsorg-ab", "case"),
        ("d", "s"),
    ] {
        let ring = test_ring(domain);
        let key = ring.derive(Purpose::Token, space);
        let tokenizer = ring.tokenizer(space);
        for len in 0..=200usize {
            // Bytes of every value, the padding byte 0x80 and zero among them.
            let value: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let full = hmac_sha256(key.as_bytes(), &value);
            assert_eq!(
                tokenizer.token_bytes(&value)[..],
                full[..TOKEN_BYTES],
                "message length {len}"
            );
        }
        // The grouped path gives the same tokens in the same order, across group ends and
        // with short and long values mixed.
        let values: Vec<Vec<u8>> = (0..=200usize)
            .map(|len| (0..len).map(|i| (i * 31 + len) as u8).collect())
            .collect();
        for count in [0, 1, 63, 64, 65, 129, values.len()] {
            let mut grouped = Vec::new();
            tokenizer.extend_hex(values[..count].iter().map(Vec::as_slice), &mut grouped);
            let one_by_one: Vec<u8> = values[..count]
                .iter()
                .flat_map(|v| tokenizer.token_hex(v))
                .collect();
            assert_eq!(grouped, one_by_one, "{count} values");
        }
    }
}

#[test]
fn encrypt_output_is_base64url_of_nonce_ciphertext_tag_per_design() {
    let master = test_master();
    for (domain, space) in [("skolsystem-ab", "person"), ("socialtjanst-ab", "case")] {
        let ring = KeyRing::new(master.clone(), domain);
        let enc = ring.encryptor(space);
        let enc_key = design_derive(master.as_bytes(), "encrypt", domain, space);
        let nonce_key = design_derive(master.as_bytes(), "nonce", domain, space);
        let cipher = Aes256GcmSiv::new_from_slice(&enc_key).unwrap();
        let aad = [domain.as_bytes(), b"\0", space.as_bytes()].concat();
        for value in sample_values() {
            let text = enc.encrypt(&value);
            assert!(!text.contains('='), "no padding");
            assert!(
                !text.contains('+') && !text.contains('/'),
                "url-safe alphabet"
            );
            let raw = URL_SAFE_NO_PAD.decode(&text).unwrap();
            assert_eq!(raw.len(), NONCE_BYTES + value.len() + TAG_BYTES);

            let nonce = &hmac_sha256(&nonce_key, &value)[..NONCE_BYTES];
            assert_eq!(
                &raw[..NONCE_BYTES],
                nonce,
                "nonce = HMAC(nonce key, value)[..12]"
            );
            let sealed = gcm_siv_encrypt(&cipher, nonce, &aad, &value);
            assert_eq!(hex::encode(&raw[NONCE_BYTES..]), hex::encode(&sealed));

            // And the crate opens it with the same parameters.
            let (ct, tag) = raw[NONCE_BYTES..].split_at(value.len());
            assert_eq!(
                gcm_siv_decrypt(&cipher, nonce, &aad, ct, tag),
                Ok(value.clone())
            );

            // encrypt_into with a reused scratch buffer agrees.
            let mut scratch = vec![0xff; 7];
            let mut out = String::from("prefix:");
            enc.encrypt_into(&value, &mut scratch, &mut out);
            assert_eq!(out, format!("prefix:{text}"));
        }
    }
}

#[test]
fn decrypt_round_trips_every_sample_value() {
    for domain in ["skolsystem-ab", "socialtjanst-ab"] {
        for space in ["person", "case"] {
            let enc = test_ring(domain).encryptor(space);
            for value in sample_values() {
                let text = enc.encrypt(&value);
                assert_eq!(&enc.decrypt(&text).unwrap()[..], &value[..]);
                // A fresh encryptor from a fresh ring (same key) also opens it.
                let again = KeyRing::new(test_master(), domain).encryptor(space);
                assert_eq!(&again.decrypt(&text).unwrap()[..], &value[..]);
            }
        }
    }
}

#[test]
fn decrypt_fails_with_other_domain_space_or_master_key() {
    let enc = test_ring("skolsystem-ab").encryptor("case");
    let other_master = KeyRing::new(
        MasterKey::from_hex(OTHER_TEST_MASTER_KEY_HEX).unwrap(),
        "skolsystem-ab",
    );
    let wrong: [(&str, Encryptor); 3] = [
        (
            "other domain",
            test_ring("socialtjanst-ab").encryptor("case"),
        ),
        (
            "other space",
            test_ring("skolsystem-ab").encryptor("person"),
        ),
        ("other master key", other_master.encryptor("case")),
    ];
    for value in sample_values() {
        let text = enc.encrypt(&value);
        for (what, other) in &wrong {
            assert_eq!(
                other.decrypt(&text),
                Err(DecryptError::Authentication),
                "{what} must not decrypt"
            );
        }
    }
}

#[test]
fn decrypt_fails_on_every_flipped_bit_and_on_malformed_text() {
    let enc = test_ring("skolsystem-ab").encryptor("case");
    let value = "ÄR-2025-00017".as_bytes();
    let text = enc.encrypt(value);
    let raw = URL_SAFE_NO_PAD.decode(&text).unwrap();
    let mut flips = 0;
    for byte in 0..raw.len() {
        for bit in 0..8 {
            let mut tampered = raw.clone();
            tampered[byte] ^= 1 << bit;
            let t = URL_SAFE_NO_PAD.encode(&tampered);
            assert_eq!(
                enc.decrypt(&t),
                Err(DecryptError::Authentication),
                "bit {bit} of byte {byte} flipped"
            );
            flips += 1;
        }
    }
    assert_eq!(flips, 8 * (NONCE_BYTES + value.len() + TAG_BYTES));

    // Truncated, extended and non-base64 texts are refused.
    let short = URL_SAFE_NO_PAD.encode(&raw[..NONCE_BYTES + TAG_BYTES - 1]);
    assert_eq!(enc.decrypt(&short), Err(DecryptError::Format));
    assert_eq!(enc.decrypt(""), Err(DecryptError::Format));
    assert_eq!(enc.decrypt("!!not base64!!"), Err(DecryptError::Format));
    let cut = URL_SAFE_NO_PAD.encode(&raw[..raw.len() - 1]);
    assert!(enc.decrypt(&cut).is_err());
    let longer = URL_SAFE_NO_PAD.encode([&raw[..], &[0u8]].concat());
    assert!(enc.decrypt(&longer).is_err());

    // A valid ciphertext of another value, with the nonce of this one spliced in, is refused.
    let other = URL_SAFE_NO_PAD
        .decode(enc.encrypt("ÄR-2025-00018".as_bytes()))
        .unwrap();
    let spliced = [&raw[..NONCE_BYTES], &other[NONCE_BYTES..]].concat();
    assert_eq!(
        enc.decrypt(&URL_SAFE_NO_PAD.encode(spliced)),
        Err(DecryptError::Authentication)
    );
}

#[test]
fn tokens_and_ciphertexts_are_deterministic() {
    let a = test_ring("skolsystem-ab");
    let b = KeyRing::new(
        MasterKey::from_hex(&format!("{TEST_MASTER_KEY_HEX}\n")).unwrap(),
        "skolsystem-ab",
    );
    for value in sample_values() {
        assert_eq!(
            a.tokenizer("person").token(&value),
            b.tokenizer("person").token(&value)
        );
        let t = a.tokenizer("person");
        assert_eq!(t.token(&value), t.token(&value));
        let e = a.encryptor("case");
        assert_eq!(e.encrypt(&value), e.encrypt(&value));
        assert_eq!(e.encrypt(&value), b.encryptor("case").encrypt(&value));
    }
    // Distinct values give distinct tokens and ciphertexts.
    let values = sample_values();
    let tokens: HashSet<String> = values
        .iter()
        .map(|v| a.tokenizer("person").token(v))
        .collect();
    assert_eq!(tokens.len(), values.len());
    let cts: HashSet<String> = values
        .iter()
        .map(|v| a.encryptor("case").encrypt(v))
        .collect();
    assert_eq!(cts.len(), values.len());
}

#[test]
fn tokens_are_unlinkable_across_domains() {
    let values = skatteverket_test_personnummer(1_000);
    let a = test_ring("skolsystem-ab");
    let b = test_ring("socialtjanst-ab");
    let (ta, tb) = (a.tokenizer("person"), b.tokenizer("person"));
    let tokens_a: HashSet<String> = values.iter().map(|v| ta.token(v.as_bytes())).collect();
    let tokens_b: HashSet<String> = values.iter().map(|v| tb.token(v.as_bytes())).collect();
    assert_eq!(tokens_a.len(), 1_000, "no collisions inside domain A");
    assert_eq!(tokens_b.len(), 1_000, "no collisions inside domain B");
    assert_eq!(
        tokens_a.intersection(&tokens_b).count(),
        0,
        "a token of domain A equals a token of domain B"
    );
    // The same holds for the reversible form, and for the nonce embedded in it.
    let (ea, eb) = (a.encryptor("person"), b.encryptor("person"));
    let ct_a: HashSet<String> = values.iter().map(|v| ea.encrypt(v.as_bytes())).collect();
    let ct_b: HashSet<String> = values.iter().map(|v| eb.encrypt(v.as_bytes())).collect();
    assert_eq!(ct_a.intersection(&ct_b).count(), 0);
    // And every derived key differs between the domains.
    for purpose in ALL_PURPOSES {
        assert_ne!(
            a.derive(purpose, "person").as_bytes(),
            b.derive(purpose, "person").as_bytes()
        );
        assert_ne!(a.key_id(purpose, "person"), b.key_id(purpose, "person"));
    }
}

#[test]
fn two_columns_in_the_same_space_share_tokens() {
    // A child column and a guardian column, both `person`, in one domain.
    let ring = test_ring("skolsystem-ab");
    let child = ring.tokenizer("person");
    let guardian = ring.tokenizer("person");
    let case = ring.tokenizer("case");
    for pnr in skatteverket_test_personnummer(50) {
        let v = pnr.as_bytes();
        assert_eq!(
            child.token(v),
            guardian.token(v),
            "joinable inside the domain"
        );
        assert_ne!(
            child.token(v),
            case.token(v),
            "another space is another key"
        );
    }
    assert_eq!(
        ring.key_id(Purpose::Token, "person"),
        ring.key_id(Purpose::Token, "person")
    );
    let (e1, e2) = (ring.encryptor("person"), ring.encryptor("person"));
    let v = b"199001012385";
    assert_eq!(e1.encrypt(v), e2.encrypt(v));
    assert_eq!(&e2.decrypt(&e1.encrypt(v)).unwrap()[..], v);
}

// ---------------------------------------------------------------------------------------------
// 3. Known answers from tests/data/kat.json (generated independently in Python)
// ---------------------------------------------------------------------------------------------

#[test]
fn known_answers_from_kat_json_match_the_library() {
    let doc = read_json(KAT_PATH);
    assert_eq!(str_field(&doc, "version"), "minex/v1");
    let constants = &doc["constants"];
    assert_eq!(
        str_field(constants, "hkdf_salt").as_bytes(),
        minex::keys::SALT
    );
    assert_eq!(
        str_field(constants, "key_id_message").as_bytes(),
        minex::keys::KEY_ID_MESSAGE
    );
    assert_eq!(u64_field(constants, "token_bytes"), TOKEN_BYTES as u64);
    assert_eq!(u64_field(constants, "nonce_bytes"), NONCE_BYTES as u64);
    assert_eq!(u64_field(constants, "tag_bytes"), TAG_BYTES as u64);

    let official: HashSet<String> = skatteverket_test_personnummer(41_493).into_iter().collect();
    let (mut entries, mut keys, mut values) = (0usize, 0usize, 0usize);
    let mut masters = HashSet::new();
    let mut domains = HashSet::new();
    let mut spaces = HashSet::new();
    for entry in array_field(&doc, "entries") {
        let master_hex = str_field(entry, "master_key");
        let domain = str_field(entry, "domain");
        let space = str_field(entry, "space");
        let at = format!(
            "{} / {domain} / {space}",
            str_field(entry, "master_key_name")
        );
        assert!(str_field(entry, "master_key_name").contains("TEST"), "{at}");
        masters.insert(master_hex.to_string());
        domains.insert(domain.to_string());
        spaces.insert(space.to_string());

        let master = MasterKey::from_hex(master_hex).unwrap();
        let ring = KeyRing::new(master.clone(), domain);
        assert_eq!(
            hex_field(entry, "aad_hex"),
            [domain.as_bytes(), b"\0", space.as_bytes()].concat(),
            "{at}: aad"
        );

        for purpose in ALL_PURPOSES {
            let k = &entry["keys"][purpose.label()];
            let info = [
                purpose.label().as_bytes(),
                b"\0",
                domain.as_bytes(),
                b"\0",
                space.as_bytes(),
            ]
            .concat();
            assert_eq!(
                hex_field(k, "hkdf_info_hex"),
                info,
                "{at}: {purpose:?} info"
            );
            let derived = DerivedKey::derive(&master, purpose, domain, space);
            assert_eq!(
                hex::encode(derived.as_bytes()),
                str_field(k, "key"),
                "{at}: {purpose:?} key"
            );
            assert_eq!(
                derived.id(),
                str_field(k, "key_id"),
                "{at}: {purpose:?} key id"
            );
            assert_eq!(ring.key_id(purpose, space), str_field(k, "key_id"), "{at}");
            keys += 1;
        }

        let tokenizer = ring.tokenizer(space);
        let encryptor = ring.encryptor(space);
        for v in array_field(entry, "values") {
            let text = str_field(v, "value");
            let bytes = hex_field(v, "value_hex");
            assert_eq!(text.as_bytes(), &bytes[..], "{at}: value_hex of {text:?}");
            if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
                assert!(
                    official.contains(text),
                    "{at}: {text} is not an official Skatteverket TEST personnummer"
                );
            }
            assert_eq!(
                tokenizer.token(&bytes),
                str_field(v, "token"),
                "{at}: token of {text:?}"
            );
            let ct = encryptor.encrypt(&bytes);
            assert_eq!(
                ct,
                str_field(v, "ciphertext"),
                "{at}: ciphertext of {text:?}"
            );
            let raw = URL_SAFE_NO_PAD.decode(&ct).unwrap();
            assert_eq!(
                raw[..NONCE_BYTES],
                hex_field(v, "nonce_hex")[..],
                "{at}: nonce of {text:?}"
            );
            let plain = encryptor.decrypt(str_field(v, "ciphertext")).unwrap();
            assert_eq!(&plain[..], &bytes[..], "{at}: decrypt of {text:?}");
            values += 1;
        }
        entries += 1;
    }
    assert_eq!(entries, 8, "2 master keys x 2 domains x 2 spaces");
    assert_eq!(keys, 3 * entries);
    assert_eq!(values, 6 * entries);
    assert_eq!((masters.len(), domains.len(), spaces.len()), (2, 2, 2));
}
