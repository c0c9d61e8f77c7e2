//! The emulator's error codes. PMH's エラーコード一覧 is distributed to vendors only, so these
//! stand in for it: PMH-like in shape (a letter and four digits) so that clients store, count and
//! show them as they would the real ones. Messages name the rule, never the value.

use pmhlink_profile::result::PmhError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// A required item is absent, null or empty.
    RequiredMissing,
    /// Wrong JSON type, not a date, not 12 digits, not in the code list, an unknown key, a CSV
    /// row that cannot be decoded.
    Format,
    /// The My Number check digit is wrong (or the number is all zeros).
    CheckDigit,
    /// validFrom is after validTo.
    PeriodInverted,
    /// The default code of a `[[reject]]` fault rule.
    RejectedByRule,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 5] = [
        ErrorCode::RequiredMissing,
        ErrorCode::Format,
        ErrorCode::CheckDigit,
        ErrorCode::PeriodInverted,
        ErrorCode::RejectedByRule,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::RequiredMissing => "E0001",
            ErrorCode::Format => "E0002",
            ErrorCode::CheckDigit => "E0003",
            ErrorCode::PeriodInverted => "E0004",
            ErrorCode::RejectedByRule => "E0099",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::RequiredMissing => "required item missing",
            ErrorCode::Format => "format error",
            ErrorCode::CheckDigit => "check digit error",
            ErrorCode::PeriodInverted => "validity period inverted",
            ErrorCode::RejectedByRule => "rejected by rule",
        }
    }

    pub(crate) fn on(self, item: Option<&str>) -> PmhError {
        PmhError {
            code: self.code().to_owned(),
            item: item.map(str::to_owned),
            message: self.message().to_owned(),
        }
    }
}
