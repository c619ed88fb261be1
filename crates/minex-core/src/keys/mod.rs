//! Keys: the master key, the keys derived from it, key ids, and the two keyed constructions
//! (`tokenize` and `encrypt`).
//!
//! Everything here is a contract (see `DESIGN.md` and the known-answer file
//! `tests/data/kat.json`): a token made by the CLI, the library or any future binding must be
//! byte-identical.
//!
//! * Master key: 32 bytes; on disk 64 hex characters and a newline, made by `minex keygen`.
//! * Derived key: HKDF-SHA256, IKM = master key, salt = `minex/v1`,
//!   info = `<purpose>\0<domain>\0<space>`, 32 bytes, purpose `token`, `encrypt` or `nonce`.
//! * Key id: first 8 bytes, as hex, of HMAC-SHA256(derived key, `minex key id`).
//! * Token: HMAC-SHA256(token key, canonical value), first 16 bytes, 32 lowercase hex.
//! * Ciphertext: AES-256-GCM-SIV with the encrypt key, nonce = first 12 bytes of
//!   HMAC-SHA256(nonce key, value), AAD = `<domain>\0<space>`, written as base64url without
//!   padding of nonce ‖ ciphertext ‖ tag.
//!
//! Key material lives in [`Zeroizing`] buffers and is wiped on drop. No type here implements
//! `Display` for key bytes, and `Debug` prints only the key id.
//!
//! # What is wiped, and what remains
//! The master key, every derived key, the tokenizer's saved SHA-256 states, the keyed HMAC
//! states (the `zeroize` features of `hmac` and `sha2`) and the AES key schedule (the
//! `zeroize` features of `aes` and `aes-gcm-siv`) are overwritten when they are dropped. What
//! minex cannot wipe: the `MINEX_KEY` environment variable, which stays in the process's
//! environment (readable in `/proc/PID/environ` by the same user) for its whole life — prefer
//! `--key-file`; the key file's page cache; and copies the operating system made (swap, core
//! dumps: run with swap encrypted and core dumps off).

use std::fmt;

use aes_gcm_siv::aead::inout::InOutBuf;
use aes_gcm_siv::{AeadInOut, Aes256GcmSiv, KeyInit, Nonce, Tag};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// The HKDF salt.
pub const SALT: &[u8] = b"minex/v1";
/// The message whose MAC names a key.
pub const KEY_ID_MESSAGE: &[u8] = b"minex key id";
/// The environment variable that may hold the master key.
pub const KEY_ENV: &str = "MINEX_KEY";
/// Bytes of a token before hex encoding.
pub const TOKEN_BYTES: usize = 16;
/// Length of a token as text.
pub const TOKEN_HEX_LEN: usize = 2 * TOKEN_BYTES;
/// Bytes of the deterministic nonce.
pub const NONCE_BYTES: usize = 12;
/// Bytes of the AES-GCM-SIV tag.
pub const TAG_BYTES: usize = 16;

/// What a derived key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Purpose {
    /// HMAC key for `tokenize`.
    Token,
    /// AES-256-GCM-SIV key for `encrypt`.
    Encrypt,
    /// HMAC key that makes the deterministic nonce of `encrypt`.
    Nonce,
}

impl Purpose {
    /// The ASCII label used in the HKDF info.
    pub fn label(self) -> &'static str {
        match self {
            Purpose::Token => "token",
            Purpose::Encrypt => "encrypt",
            Purpose::Nonce => "nonce",
        }
    }
}

/// The 32-byte master key. Wiped from memory on drop.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(Zeroizing::new(bytes))
    }

    /// 32 fresh bytes from the operating system's generator.
    ///
    /// # Errors
    /// When the OS generator fails.
    pub fn generate() -> Result<MasterKey> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut bytes[..])
            .map_err(|e| Error::key(format!("the OS random generator failed: {e}")))?;
        Ok(MasterKey(bytes))
    }

    /// Parses a key's text (a key file's, `MINEX_KEY`'s): 64 hex characters; whitespace
    /// around them (a newline, a CRLF, spaces) is trimmed.
    ///
    /// # Errors
    /// When the text is not exactly 64 hex characters. The message never repeats the text.
    pub fn from_hex(text: &str) -> Result<MasterKey> {
        let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if t.len() != 64 {
            return Err(Error::key(format!(
                "a master key is 64 hex characters (32 bytes); this one has {} characters",
                t.chars().count()
            )));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(t, &mut bytes[..])
            .map_err(|_| Error::key("a master key holds only hex characters 0-9 and a-f"))?;
        Ok(MasterKey(bytes))
    }

    /// The key file's text: 64 lowercase hex characters and a newline.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(hex::encode(&self.0[..]));
        s.push('\n');
        s
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The rule for a key file's Unix mode bits (the caller reads them; the core reads no files):
/// a key file readable or writable by group or others is refused. `path` is for the message.
///
/// # Errors
/// `Key`, naming the file and its mode and how to fix it (never the key).
pub fn check_key_file_mode(path: &std::path::Path, mode: u32) -> Result<()> {
    if mode & 0o077 != 0 {
        return Err(Error::key(format!(
            "the key file `{}` is accessible by group or others (mode {:o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    Ok(())
}

/// A 32-byte derived key. Wiped on drop.
#[derive(Clone)]
pub struct DerivedKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DerivedKey(id {})", self.id())
    }
}

impl DerivedKey {
    /// HKDF-SHA256 as in the module doc.
    pub fn derive(master: &MasterKey, purpose: Purpose, domain: &str, space: &str) -> DerivedKey {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(SALT), master.as_bytes());
        let mut info = Vec::with_capacity(purpose.label().len() + domain.len() + space.len() + 2);
        info.extend_from_slice(purpose.label().as_bytes());
        info.push(0);
        info.extend_from_slice(domain.as_bytes());
        info.push(0);
        info.extend_from_slice(space.as_bytes());
        let mut okm = Zeroizing::new([0u8; 32]);
        // 32 bytes is far below HKDF-SHA256's limit of 255 * 32, so expand cannot fail.
        if hk.expand(&info, &mut okm[..]).is_err() {
            unreachable!("HKDF-SHA256 can always expand 32 bytes");
        }
        DerivedKey(okm)
    }

    /// The key id: 16 hex characters naming the key without revealing it.
    pub fn id(&self) -> String {
        let mut mac = hmac_with(&self.0[..]);
        mac.update(KEY_ID_MESSAGE);
        hex::encode(&mac.finalize().into_bytes()[..8])
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn hmac_with(key: &[u8]) -> HmacSha256 {
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// The master key bound to one pseudonymisation domain.
#[derive(Clone)]
pub struct KeyRing {
    master: MasterKey,
    domain: String,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Binds `master` to `domain`.
    pub fn new(master: MasterKey, domain: impl Into<String>) -> KeyRing {
        KeyRing {
            master,
            domain: domain.into(),
        }
    }

    /// The domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Derives the key for `purpose` in `space`.
    pub fn derive(&self, purpose: Purpose, space: &str) -> DerivedKey {
        DerivedKey::derive(&self.master, purpose, &self.domain, space)
    }

    /// The key id for `purpose` in `space`.
    pub fn key_id(&self, purpose: Purpose, space: &str) -> String {
        self.derive(purpose, space).id()
    }

    /// Records, as manifests and audit lines name them (`purpose/space` → key id), the keys
    /// a column of `space` uses: `token/space` for a tokenized one (`encrypt: false`),
    /// `encrypt/space` and `nonce/space` for an encrypted one.
    pub fn record_key_ids(
        &self,
        ids: &mut std::collections::BTreeMap<String, String>,
        space: &str,
        encrypt: bool,
    ) {
        let purposes: &[Purpose] = if encrypt {
            &[Purpose::Encrypt, Purpose::Nonce]
        } else {
            &[Purpose::Token]
        };
        for p in purposes {
            ids.insert(format!("{}/{space}", p.label()), self.key_id(*p, space));
        }
    }

    /// A tokenizer for `space`.
    pub fn tokenizer(&self, space: &str) -> Tokenizer {
        Tokenizer::new(&self.derive(Purpose::Token, space))
    }

    /// An encryptor (and decryptor) for `space`.
    pub fn encryptor(&self, space: &str) -> Encryptor {
        Encryptor::new(
            &self.derive(Purpose::Encrypt, space),
            &self.derive(Purpose::Nonce, space),
            &self.domain,
            space,
        )
    }
}

/// Keyed HMAC-SHA256 for `tokenize`.
///
/// HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)). The key blocks `K ⊕ ipad` and
/// `K ⊕ opad` are compressed once, when the tokenizer is made; a value of up to 55 bytes
/// (every canonical identity number, date or code) then costs exactly two SHA-256
/// compressions, done here with RustCrypto's `compress256` on the saved states. Longer values
/// take the `hmac` crate. Both paths are checked against each other and against Wycheproof
/// in `tests/it/crypto.rs`.
#[derive(Clone)]
pub struct Tokenizer {
    mac: HmacSha256,
    /// SHA-256 state after the block `K ⊕ ipad` (key-equivalent: wiped on drop).
    inner: [u32; 8],
    /// SHA-256 state after the block `K ⊕ opad` (key-equivalent: wiped on drop).
    outer: [u32; 8],
}

impl Drop for Tokenizer {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tokenizer(..)")
    }
}

/// Eight lowercase hex characters of `w`, most significant first, without a table: the
/// nibbles are spread one per byte, then `0`–`9` and `a`–`f` are added byte-wise.
#[inline]
fn hex_word(w: u32) -> [u8; 8] {
    let x = u64::from(w);
    let mut n = ((x & 0xffff_0000) << 16) | (x & 0xffff);
    n = ((n & 0x0000_ff00_0000_ff00) << 8) | (n & 0x0000_00ff_0000_00ff);
    n = ((n & 0x00f0_00f0_00f0_00f0) << 4) | (n & 0x000f_000f_000f_000f);
    // 1 in each byte whose nibble is 10 or more (nibble + 6 reaches 16).
    let letters = ((n + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (n + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'0' - 10)).to_be_bytes()
}

/// The SHA-256 initial hash value (FIPS 180-4, 5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The longest message that fits one padded block after the 64-byte key block.
const ONE_BLOCK_MAX: usize = 55;

/// The SHA-256 state after compressing the 64-byte block `key ⊕ pad` (key zero-padded).
fn keyed_state(key: &[u8; 32], pad: u8) -> [u32; 8] {
    let mut block = Zeroizing::new([pad; 64]);
    for (b, k) in block.iter_mut().zip(key) {
        *b ^= k;
    }
    let mut state = SHA256_IV;
    sha2::block_api::compress256(&mut state, std::slice::from_ref(&*block));
    state
}

/// The final (padded) block of a message of up to 55 bytes that follows one 64-byte block.
#[inline]
fn final_block(message: &[u8]) -> [u8; 64] {
    debug_assert!(message.len() <= ONE_BLOCK_MAX);
    let mut block = [0u8; 64];
    block[..message.len()].copy_from_slice(message);
    block[message.len()] = 0x80;
    let bits = (64 + message.len() as u64) * 8;
    block[56..].copy_from_slice(&bits.to_be_bytes());
    block
}

/// The outer hash's final block: the inner digest (32 bytes) after the 64-byte key block.
#[inline]
fn outer_block(inner: &[u32; 8]) -> [u8; 64] {
    let mut block = [0u8; 64];
    for (d, w) in block[..32].chunks_exact_mut(4).zip(inner) {
        d.copy_from_slice(&w.to_be_bytes());
    }
    block[32] = 0x80;
    block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
    block
}

/// Values tokenized together by [`Tokenizer::extend_hex`].
const GROUP: usize = 64;

impl Tokenizer {
    /// Keys the MAC once.
    pub fn new(key: &DerivedKey) -> Tokenizer {
        Tokenizer {
            mac: hmac_with(&key.0[..]),
            inner: keyed_state(&key.0, 0x36),
            outer: keyed_state(&key.0, 0x5c),
        }
    }

    /// The first four words of HMAC-SHA256(key, `value`) (the 16 token bytes, big-endian).
    #[inline]
    fn token_words(&self, value: &[u8]) -> [u32; 4] {
        let words = if value.len() <= ONE_BLOCK_MAX {
            let mut inner = self.inner;
            sha2::block_api::compress256(&mut inner, &[final_block(value)]);
            let mut outer = self.outer;
            sha2::block_api::compress256(&mut outer, &[outer_block(&inner)]);
            outer
        } else {
            let mut mac = self.mac.clone();
            mac.update(value);
            let full = mac.finalize().into_bytes();
            let mut w = [0u32; 8];
            for (w, b) in w.iter_mut().zip(full.chunks_exact(4)) {
                *w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            }
            w
        };
        [words[0], words[1], words[2], words[3]]
    }

    /// The tokens of `values`, in order, appended to `out` as 32 hex characters each.
    ///
    /// The same tokens as [`Tokenizer::token_hex`], made in groups of 64: first every inner
    /// block of the group is written, then compressed, then every outer block written and
    /// compressed. A SHA-256 compression waits on the one before it in its own hash, not on
    /// those of other values, so the processor overlaps the compressions of a group (and never
    /// reads a block it is still writing); this is about 40% faster than one value at a time.
    pub fn extend_hex<'a>(&self, values: impl IntoIterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
        let mut values = values.into_iter().peekable();
        let mut group: [&[u8]; GROUP] = [&[]; GROUP];
        let mut blocks = [[0u8; 64]; GROUP];
        let mut states = [[0u32; 8]; GROUP];
        while values.peek().is_some() {
            let mut n = 0;
            for v in values.by_ref().take(GROUP) {
                group[n] = v;
                n += 1;
            }
            let short = |i: &usize| group[*i].len() <= ONE_BLOCK_MAX;
            for i in (0..n).filter(short) {
                blocks[i] = final_block(group[i]);
            }
            for i in (0..n).filter(short) {
                states[i] = self.inner;
                sha2::block_api::compress256(&mut states[i], std::slice::from_ref(&blocks[i]));
            }
            for i in (0..n).filter(short) {
                blocks[i] = outer_block(&states[i]);
            }
            for i in 0..n {
                let words = if short(&i) {
                    states[i] = self.outer;
                    sha2::block_api::compress256(&mut states[i], std::slice::from_ref(&blocks[i]));
                    [states[i][0], states[i][1], states[i][2], states[i][3]]
                } else {
                    self.token_words(group[i])
                };
                for w in words {
                    out.extend_from_slice(&hex_word(w));
                }
            }
        }
        // The intermediate states are key-dependent: wipe them.
        use zeroize::Zeroize;
        states.zeroize();
    }

    /// The 16 token bytes of `value`.
    #[inline]
    pub fn token_bytes(&self, value: &[u8]) -> [u8; TOKEN_BYTES] {
        let mut out = [0u8; TOKEN_BYTES];
        for (o, w) in out.chunks_exact_mut(4).zip(self.token_words(value)) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    /// The token of `value` as 32 lowercase hex characters.
    #[inline]
    pub fn token_hex(&self, value: &[u8]) -> [u8; TOKEN_HEX_LEN] {
        let mut out = [0u8; TOKEN_HEX_LEN];
        for (o, w) in out.chunks_exact_mut(8).zip(self.token_words(value)) {
            o.copy_from_slice(&hex_word(w));
        }
        out
    }

    /// The token of `value` as a `String`.
    pub fn token(&self, value: &[u8]) -> String {
        let hex = self.token_hex(value);
        String::from_utf8_lossy(&hex).into_owned()
    }
}

/// Deterministic AES-256-GCM-SIV for `encrypt`, and its inverse for `minex reidentify`.
#[derive(Clone)]
pub struct Encryptor {
    cipher: Aes256GcmSiv,
    nonce_mac: HmacSha256,
    aad: Vec<u8>,
}

impl fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Encryptor(..)")
    }
}

/// Why a ciphertext could not be decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecryptError {
    /// Not base64url, or too short to hold a nonce and a tag.
    Format,
    /// The tag does not verify: wrong key, domain or space, or a modified value.
    Authentication,
}

impl Encryptor {
    /// Builds from the derived keys.
    pub fn new(encrypt: &DerivedKey, nonce: &DerivedKey, domain: &str, space: &str) -> Encryptor {
        let cipher = match Aes256GcmSiv::new_from_slice(&encrypt.0[..]) {
            Ok(c) => c,
            Err(_) => unreachable!("the derived key is 32 bytes"),
        };
        let mut aad = Vec::with_capacity(domain.len() + 1 + space.len());
        aad.extend_from_slice(domain.as_bytes());
        aad.push(0);
        aad.extend_from_slice(space.as_bytes());
        Encryptor {
            cipher,
            nonce_mac: hmac_with(&nonce.0[..]),
            aad,
        }
    }

    fn nonce_for(&self, value: &[u8]) -> [u8; NONCE_BYTES] {
        let mut mac = self.nonce_mac.clone();
        mac.update(value);
        let full = mac.finalize().into_bytes();
        let mut n = [0u8; NONCE_BYTES];
        n.copy_from_slice(&full[..NONCE_BYTES]);
        n
    }

    /// Encrypts `value` and appends the base64url text to `out`. `scratch` is a reusable
    /// buffer (no allocation per value once it has grown).
    pub fn encrypt_into(&self, value: &[u8], scratch: &mut Vec<u8>, out: &mut String) {
        let nonce = self.nonce_for(value);
        scratch.clear();
        scratch.extend_from_slice(&nonce);
        scratch.extend_from_slice(value);
        let body = &mut scratch[NONCE_BYTES..];
        let tag = match self.cipher.encrypt_inout_detached(
            &Nonce::from(nonce),
            &self.aad,
            InOutBuf::from(body),
        ) {
            Ok(tag) => tag,
            // Only messages over 2^36 bytes fail; a cell never is one.
            Err(_) => unreachable!("AES-GCM-SIV message too long"),
        };
        scratch.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode_string(&scratch[..], out);
    }

    /// Encrypts `value` to a new `String`.
    pub fn encrypt(&self, value: &[u8]) -> String {
        let mut out = String::new();
        self.encrypt_into(value, &mut Vec::new(), &mut out);
        out
    }

    /// Decrypts a value made by [`Encryptor::encrypt`]; also checks that the nonce is the one
    /// the plaintext gives, so a ciphertext spliced from another value is refused.
    ///
    /// # Errors
    /// [`DecryptError`]; never says anything about the value.
    pub fn decrypt(&self, text: &str) -> std::result::Result<Zeroizing<Vec<u8>>, DecryptError> {
        let raw = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| DecryptError::Format)?;
        if raw.len() < NONCE_BYTES + TAG_BYTES {
            return Err(DecryptError::Format);
        }
        let (nonce, rest) = raw.split_at(NONCE_BYTES);
        let (body, tag) = rest.split_at(rest.len() - TAG_BYTES);
        let mut plain = Zeroizing::new(body.to_vec());
        let nonce_arr: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| DecryptError::Format)?;
        let tag_arr: [u8; TAG_BYTES] = tag.try_into().map_err(|_| DecryptError::Format)?;
        self.cipher
            .decrypt_inout_detached(
                &Nonce::from(nonce_arr),
                &self.aad,
                InOutBuf::from(&mut plain[..]),
                &Tag::from(tag_arr),
            )
            .map_err(|_| DecryptError::Authentication)?;
        if self.nonce_for(&plain) != nonce_arr {
            return Err(DecryptError::Authentication);
        }
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10: the keyed states wipe themselves on drop (a compile-time check that the
    /// `zeroize` features are on; without them these types do not implement the trait).
    #[test]
    fn keyed_states_are_wiped_on_drop() {
        fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        // The SHA-256 state inside every keyed HMAC (its inner and outer hash), and the block
        // buffer around it, which digest's `zeroize` feature wipes.
        wiped_on_drop::<sha2::block_api::Sha256VarCore>();
        wiped_on_drop::<sha2::Sha256>();
        // The AES-256 key schedule inside AES-GCM-SIV.
        wiped_on_drop::<aes::Aes256>();
    }

    #[test]
    fn hex_word_is_lowercase_hex_of_every_nibble() {
        let mut w: u32 = 0x9e37_79b9;
        for fixed in [
            0,
            u32::MAX,
            0x0123_4567,
            0x89ab_cdef,
            0x9a9a_9a9a,
            0xa0a0_a0a0,
        ] {
            assert_eq!(&hex_word(fixed)[..], format!("{fixed:08x}").as_bytes());
        }
        for _ in 0..100_000 {
            w = w.wrapping_mul(0x0019_660d).wrapping_add(0x3c6e_f35f);
            assert_eq!(&hex_word(w)[..], format!("{w:08x}").as_bytes());
        }
    }

    const TEST_MASTER_KEY_HEX: &str =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn test_ring(domain: &str) -> KeyRing {
        KeyRing::new(MasterKey::from_hex(TEST_MASTER_KEY_HEX).unwrap(), domain)
    }

    #[test]
    fn hex_round_trip_and_errors_never_echo() {
        let k = MasterKey::from_hex(TEST_MASTER_KEY_HEX).unwrap();
        assert_eq!(k.to_hex().trim_end(), TEST_MASTER_KEY_HEX);
        let bad = "zz".repeat(32);
        let err = MasterKey::from_hex(&bad).unwrap_err().to_string();
        assert!(!err.contains(&bad));
        let short = MasterKey::from_hex("abcd").unwrap_err().to_string();
        assert!(!short.contains("abcd"), "{short}");
    }

    #[test]
    fn tokens_are_deterministic_and_domain_separated() {
        let a = test_ring("supplier-a");
        let b = test_ring("supplier-b");
        let ta = a.tokenizer("person").token(b"199001011234");
        assert_eq!(ta, a.tokenizer("person").token(b"199001011234"));
        assert_eq!(ta.len(), TOKEN_HEX_LEN);
        assert_ne!(ta, b.tokenizer("person").token(b"199001011234"));
        assert_ne!(ta, a.tokenizer("case").token(b"199001011234"));
    }

    #[test]
    fn encrypt_round_trip_and_binding() {
        let ring = test_ring("supplier-a");
        let enc = ring.encryptor("case");
        let c = enc.encrypt(b"case-0001");
        assert_eq!(c, enc.encrypt(b"case-0001"));
        assert_eq!(&enc.decrypt(&c).unwrap()[..], b"case-0001");
        assert_eq!(
            ring.encryptor("other").decrypt(&c),
            Err(DecryptError::Authentication)
        );
        assert_eq!(
            test_ring("supplier-b").encryptor("case").decrypt(&c),
            Err(DecryptError::Authentication)
        );
        assert_eq!(enc.decrypt("!!"), Err(DecryptError::Format));
        let empty = enc.encrypt(b"");
        assert_eq!(&enc.decrypt(&empty).unwrap()[..], b"");
    }

    #[test]
    fn key_ids_differ_by_purpose_and_space() {
        let ring = test_ring("d");
        let ids = [
            ring.key_id(Purpose::Token, "person"),
            ring.key_id(Purpose::Encrypt, "person"),
            ring.key_id(Purpose::Nonce, "person"),
            ring.key_id(Purpose::Token, "case"),
        ];
        for (i, a) in ids.iter().enumerate() {
            assert_eq!(a.len(), 16);
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
