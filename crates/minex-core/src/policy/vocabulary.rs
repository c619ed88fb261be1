//! The column-name vocabulary: which words in a column's name say what it holds.
//!
//! Shared by the policy linter ([`super::lint`], which warns about a column whose name looks
//! like an identifier but whose action keeps it) and `minex init` (which guesses a column's
//! type and action from its name and a sample of its values). Names are read by [`has_word`].
//!
//! Each kind of column has a base list, which both use, and for some kinds a `_MORE` list of
//! further spellings that only `minex init` reads (it checks its guess against the values;
//! the linter warns on the name alone, so it keeps to the base words).

/// Identity numbers (personnummer, samordningsnummer).
pub const PNR: &[&str] = &[
    "personnummer",
    "personnr",
    "pnr",
    "ssn",
    "samordningsnummer",
];
/// Further identity-number spellings, and the guardian columns that hold one.
pub const PNR_MORE: &[&str] = &[
    "persnr",
    "samordningsnr",
    "guardian",
    "vardnadshavare",
    "vårdnadshavare",
];
/// E-mail addresses.
pub const EMAIL: &[&str] = &["email", "e_post", "epost", "mail"];
/// Further e-mail spellings.
pub const EMAIL_MORE: &[&str] = &["epostadress"];
/// Phone numbers.
pub const PHONE: &[&str] = &["phone", "telefon", "mobil", "mobile"];
/// Further phone spellings.
pub const PHONE_MORE: &[&str] = &["tel", "telnr", "mobilnr", "cell"];
/// Personal names.
pub const NAME: &[&str] = &[
    "first_name",
    "last_name",
    "firstname",
    "lastname",
    "fornamn",
    "förnamn",
    "efternamn",
    "full_name",
    "fullname",
    "namn",
    "name",
];
/// Further name spellings.
pub const NAME_MORE: &[&str] = &["tilltalsnamn", "mellannamn", "surname"];
/// Street addresses.
pub const ADDRESS: &[&str] = &["address", "adress", "street", "gata", "gatuadress"];
/// Further address spellings.
pub const ADDRESS_MORE: &[&str] = &["utdelningsadress"];
/// Free text (notes, comments).
pub const FREE_TEXT: &[&str] = &[
    "note",
    "notes",
    "comment",
    "kommentar",
    "anteckning",
    "fritext",
    "free_text",
    "text",
    "beskrivning",
    "description",
    "notering",
    "remark",
    "message",
    "meddelande",
];
/// Further free-text spellings.
pub const FREE_TEXT_MORE: &[&str] = &["comments", "anteckningar", "remarks", "memo"];
/// Protected-identity markers (skyddad identitet).
pub const PROTECTED: &[&str] = &["protected", "skydd", "skyddad", "sekretess", "confidential"];
/// Further protected-identity spellings.
pub const PROTECTED_MORE: &[&str] = &["skyddade"];
/// Birth dates.
pub const BIRTH: &[&str] = &["birth", "dob", "fodelse", "födelse", "fodd", "född"];
/// Further birth-date spellings.
pub const BIRTH_MORE: &[&str] = &[
    "birthdate",
    "birthday",
    "born",
    "fodelsedatum",
    "födelsedatum",
];
/// Postal codes.
pub const POSTAL: &[&str] = &["postal", "postnummer", "postnr", "zip"];
/// Further postal-code spellings.
pub const POSTAL_MORE: &[&str] = &["zipcode", "postcode"];
/// Other quasi-identifiers: sex and age.
pub const QUASI_IDENTIFIER: &[&str] = &["gender", "sex", "kon", "kön", "age", "alder", "ålder"];

/// Whether a column name holds one of `words`: the whole name, one of its parts between
/// non-alphanumeric characters, or (for words of six letters or more) anywhere inside it.
pub fn has_word(name: &str, words: &[&str]) -> bool {
    let n = name.to_lowercase();
    words.iter().any(|w| {
        n == *w
            || n.split(|c: char| !c.is_alphanumeric())
                .any(|part| part == *w)
            || (w.chars().count() >= 6 && n.contains(w))
    })
}

/// Whether a column name holds a word of `words` or of `more` (a base list and its `_MORE`
/// list, as `minex init` reads them).
pub fn has_any_word(name: &str, words: &[&str], more: &[&str]) -> bool {
    has_word(name, words) || has_word(name, more)
}

/// Whether a column name looks like a direct identifier (identity number, e-mail, phone,
/// name or address), from the base lists: what the linter warns about.
pub fn names_identifier(name: &str) -> bool {
    [PNR, EMAIL, PHONE, NAME, ADDRESS]
        .iter()
        .any(|words| has_word(name, words))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(has_any_word("date_of_birth", BIRTH, BIRTH_MORE));
        assert!(has_any_word("born", BIRTH, BIRTH_MORE));
        assert!(!has_word("born", BIRTH));
        assert!(has_word("Sekretessmarkering", PROTECTED));
        assert!(!has_any_word("gender", NAME, NAME_MORE));
        assert!(names_identifier("Kund_Epost"));
        assert!(!names_identifier("tel"));
    }
}
