//! The Luhn (mod 10) check digit of Swedish identity numbers.
//!
//! One implementation for the personnummer parser (which checks it), `minex synth` (which
//! writes valid and deliberately invalid numbers) and the tests. Digits are values 0 to 9,
//! not ASCII.

/// A digit doubled, with the digits of the product summed (2 × 7 = 14 → 1 + 4 = 5).
const DOUBLED: [u8; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];

/// The Luhn sum of `digits` (values 0 to 9): counting from the right, every second digit is
/// doubled, starting with the second to last. Panics on a value above 9.
#[inline]
fn sum(digits: &[u8], double_last: bool) -> u32 {
    digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let doubled = (i % 2 == 0) == double_last;
            u32::from(if doubled { DOUBLED[usize::from(d)] } else { d })
        })
        .sum()
}

/// Whether `digits` (values 0 to 9, the check digit last) pass the Luhn check; for an
/// identity number, the ten digits `YYMMDDNNNC`.
#[inline]
pub fn is_valid(digits: &[u8]) -> bool {
    sum(digits, false).is_multiple_of(10)
}

/// The check digit (a value 0 to 9) that makes `payload ++ [digit]` pass [`is_valid`]; for an
/// identity number, `payload` is the nine digits `YYMMDDNNN`.
pub fn check_digit(payload: &[u8]) -> u8 {
    // The sum's last digit is below 10, so the cast is exact.
    (10 - sum(payload, true) % 10) as u8 % 10
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn known_answers() {
        // Skatteverket's example 811218-9876, and the ISO/IEC 7812 example 7992739871-3.
        assert_eq!(check_digit(&values("811218987")), 6);
        assert!(is_valid(&values("8112189876")));
        assert!(!is_valid(&values("8112189875")));
        assert_eq!(check_digit(&values("7992739871")), 3);
        assert!(is_valid(&values("79927398713")));
        for nine in ["000000000", "999999999", "121212121", "190101001"] {
            let mut ten = values(nine);
            ten.push(check_digit(&ten));
            assert!(is_valid(&ten), "{nine}");
        }
    }
}
