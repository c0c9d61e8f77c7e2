//! The three check digits of `domain-rules.md`. Inputs are strings of ASCII digits, never
//! integers: leading zeros are significant.

/// Why a number failed its check. Carries no digits of the number itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckError {
    Length { expected: usize },
    NotDigits,
    CheckDigit,
    AllZero,
}

/// The digits of `s` as numbers, in a fixed array (no allocation: this runs per record).
fn digits<const N: usize>(s: &str) -> Result<[u32; N], CheckError> {
    if s.len() != N {
        return Err(CheckError::Length { expected: N });
    }
    let mut out = [0; N];
    for (d, b) in out.iter_mut().zip(s.bytes()) {
        if !b.is_ascii_digit() {
            return Err(CheckError::NotDigits);
        }
        *d = u32::from(b - b'0');
    }
    Ok(out)
}

const MY_NUMBER_WEIGHTS: [u32; 11] = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// The My Number check digit of an 11-digit body.
pub fn my_number_check_digit(body: &[u32; 11]) -> u32 {
    let r = body
        .iter()
        .zip(MY_NUMBER_WEIGHTS)
        .map(|(d, w)| d * w)
        .sum::<u32>()
        % 11;
    if r <= 1 { 0 } else { 11 - r }
}

/// 個人番号: 12 digits, weights 6 5 4 3 2 7 6 5 4 3 2, all-zero refused.
pub fn check_my_number(s: &str) -> Result<(), CheckError> {
    let d: [u32; 12] = digits(s)?;
    if d.iter().all(|&x| x == 0) {
        return Err(CheckError::AllZero);
    }
    let body: [u32; 11] = d[..11].try_into().expect("12 digits");
    if my_number_check_digit(&body) == d[11] {
        Ok(())
    } else {
        Err(CheckError::CheckDigit)
    }
}

/// The Luhn-style digit shared by 公費負担者番号 and 公費受給者番号: from the rightmost body
/// digit, weights 2,1,2,1…, a two-digit product counts as the sum of its digits.
pub fn luhn_check_digit(body: &[u32]) -> u32 {
    let s: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let p = if i % 2 == 0 { d * 2 } else { d };
            p / 10 + p % 10
        })
        .sum();
    (10 - s % 10) % 10
}

fn check_luhn<const N: usize>(s: &str) -> Result<(), CheckError> {
    let d: [u32; N] = digits(s)?;
    let (body, check) = d.split_at(N - 1);
    if luhn_check_digit(body) == check[0] {
        Ok(())
    } else {
        Err(CheckError::CheckDigit)
    }
}

/// 公費負担者番号: 法別 (2) + 都道府県 (2) + 実施機関 (3) + check digit.
pub fn check_insurer_number(s: &str) -> Result<(), CheckError> {
    check_luhn::<8>(s)
}

/// 公費受給者番号 of a national programme: 6 body digits + check digit.
pub fn check_recipient_number(s: &str) -> Result<(), CheckError> {
    check_luhn::<7>(s)
}

/// Appends the right check digit to a body of ASCII digits (for generators and fixtures).
pub fn with_luhn_check_digit(body: &str) -> String {
    let d: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
    format!("{body}{}", luhn_check_digit(&d))
}

/// Appends the My Number check digit to an 11-digit body.
pub fn with_my_number_check_digit(body: &str) -> String {
    let d: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
    let body_digits: [u32; 11] = d.try_into().expect("an 11-digit body");
    format!("{body}{}", my_number_check_digit(&body_digits))
}
