//! Findings: what a check says about a record. A finding names the field and the rule, never
//! the value: messages are fixed texts with at most a numeric limit in them, so a report or a
//! log line built from findings cannot carry personal data.

use std::fmt;

use pmhlink_model::FieldId;
use serde::{Deserialize, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The record is quarantined, not sent.
    Error,
    /// The record is sent, and the finding reported.
    Warning,
}

impl Severity {
    pub fn label_ja(self) -> &'static str {
        match self {
            Severity::Error => "エラー",
            Severity::Warning => "警告",
        }
    }
}

/// Where a finding points.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldRef {
    /// A field the profile knows.
    Field(FieldId),
    /// A wire key or column the profile does not know (an unknown key, a stray column).
    Key(String),
    /// The record as a whole (not an object, wrong number of CSV fields, a duplicate).
    Record,
}

macro_rules! codes {
    ($( $variant:ident = $code:literal, $sev:ident, $ja:literal, $en:literal; )*) => {
        /// Every rule's stable code. The string form is part of pmhlink's interface: reports,
        /// `--json` output and operators' spreadsheets key on it, so a code is never renamed.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// The severity unless a policy says otherwise (see [`crate::Policy`]).
            pub fn default_severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }

            /// Japanese message; `{limit}` stands for the finding's limit.
            pub fn message_ja_template(self) -> &'static str {
                match self { $( Code::$variant => $ja, )* }
            }

            pub fn message_en_template(self) -> &'static str {
                match self { $( Code::$variant => $en, )* }
            }
        }
    };
}

codes! {
    RecordNotObject = "record-not-object", Error,
        "レコードがオブジェクトではありません", "the record is not an object";
    UnknownKey = "unknown-key", Error,
        "インタフェースプロファイルにない項目です", "a key the interface profile does not define";
    DuplicateKey = "duplicate-key", Error,
        "同じ項目が2回以上あります", "the object gives this key more than once";
    WrongType = "wrong-type", Error,
        "項目の型が違います", "the value has the wrong type";
    RequiredMissing = "required-missing", Error,
        "必須項目がありません", "a required field is missing or empty";
    TooLong = "too-long", Error,
        "{limit}文字を超えています", "longer than {limit} characters";
    WrongLength = "wrong-length", Error,
        "{limit}文字ではありません", "not exactly {limit} characters";
    NotDigits = "not-digits", Error,
        "半角数字以外の文字があります", "contains characters other than ASCII digits";
    NotAsciiAlnum = "not-ascii-alnum", Error,
        "半角英数字以外の文字があります", "contains characters other than ASCII letters and digits";
    NotIsoDate = "not-iso-date", Error,
        "日付がYYYY-MM-DD形式ではありません", "the date is not in YYYY-MM-DD form";
    NotKatakana = "not-katakana", Error,
        "全角カタカナ以外の文字があります", "contains characters outside full-width katakana";
    NotInCodeList = "not-in-code-list", Error,
        "許される値ではありません", "not one of the allowed codes";
    ControlCharacter = "control-character", Error,
        "制御文字(改行・タブ等)があります", "contains a control character (newline, tab, …)";
    TooManyItems = "too-many-items", Error,
        "券面項目が{limit}件を超えています", "more than {limit} certificate face items";
    CsvFieldCount = "csv-field-count", Error,
        "CSVの列数がヘッダと合いません", "the CSV row has a different number of fields than the header";
    TextNotUtf8 = "text-not-utf8", Error,
        "UTF-8として読めない文字があります", "the text is not valid UTF-8";
    DuplicateRecord = "duplicate-record", Error,
        "同じ受給者証・履歴キーのレコードが前にあります", "an earlier record has the same certificate and history key";
    MyNumberCheckDigit = "my-number-check-digit", Error,
        "個人番号のチェックデジットが合いません", "the My Number check digit does not match";
    MyNumberAllZero = "my-number-all-zero", Error,
        "個人番号がすべて0です", "the My Number is all zeros";
    InsurerCheckDigit = "insurer-check-digit", Error,
        "公費負担者番号のチェックデジットが合いません", "the 公費負担者番号 check digit does not match";
    InsurerPrefecture = "insurer-prefecture", Error,
        "公費負担者番号の都道府県番号が01〜47ではありません", "the 公費負担者番号 prefecture is not 01–47";
    InsurerHoubetsuIsInsurer = "insurer-houbetsu-is-insurer", Error,
        "公費負担者番号の法別番号が保険者の法別番号です", "the 公費負担者番号 carries an insurer's 法別番号 (a typing error)";
    InsurerHoubetsuUnknown = "insurer-houbetsu-unknown", Warning,
        "法別番号が国の公費にも地単の登録にもありません", "the 法別番号 is neither national nor in the site's local programmes";
    InsurerPrefectureMismatch = "insurer-prefecture-mismatch", Warning,
        "公費負担者番号の都道府県番号が団体コードと合いません", "the 公費負担者番号 prefecture differs from the municipality's";
    RecipientCheckDigit = "recipient-check-digit", Error,
        "公費受給者番号(国の公費)のチェックデジットが合いません", "the national 公費受給者番号 check digit does not match";
    RecipientLocalRule = "recipient-local-rule", Warning,
        "公費受給者番号(地単)が7桁チェックデジット規則に合いません", "the local 公費受給者番号 does not follow the 7-digit check rule";
    DateInvalid = "date-invalid", Error,
        "存在しない日付です", "the date does not exist";
    DateBeforeEra = "date-before-era", Error,
        "元号の開始より前の日付です", "the date is before its era began";
    EraOverflow = "era-overflow", Warning,
        "改元後の日付を旧元号で表しています", "the date is written in an era that had already ended";
    ValidPeriodInverted = "valid-period-inverted", Error,
        "有効期間の始期が終期より後です", "validFrom is after validTo";
    BirthInFuture = "birth-in-future", Error,
        "生年月日が未来の日付です", "the date of birth is in the future";
    TextUndecodable = "text-undecodable", Error,
        "文字コードとして読めないバイトがあります", "bytes that do not decode in the source encoding";
    GaijiUnmapped = "gaiji-unmapped", Error,
        "対応表にない外字があります", "a user-defined character (外字) with no mapping";
    JoinMissing = "join-missing", Error,
        "必須の結合先に対応するレコードがありません", "no row in a required joined source";
    JoinAmbiguous = "join-ambiguous", Error,
        "結合キーが結合先で重複しています", "the join key occurs more than once in the joined source";
    CodeNotMapped = "code-not-mapped", Error,
        "コード変換表にない値です", "a value the code map does not cover";
    UnknownProgram = "unknown-program", Error,
        "制度コードがパイプラインに設定されていません", "the programme code is not configured in the pipeline";
    SourceRowUnreadable = "source-row-unreadable", Error,
        "元データの行を読めません", "the source row could not be read";
    JoinRowUnreadable = "join-row-unreadable", Error,
        "結合先のデータに読めない行があり、このレコードに関係する可能性があります", "a row of a joined source that may concern this record could not be read";
    OutsideJisX0208 = "outside-jis-x0208", Warning,
        "JIS X 0208外の文字があります(レセコンで表示できない場合があります)", "characters outside JIS X 0208 (some receipt computers reject them)";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One rule's verdict on one field of one record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub field: FieldRef,
    /// A numeric limit the message refers to (a length, a count); never a value from the record.
    pub limit: Option<u32>,
}

impl Finding {
    pub fn new(code: Code, field: FieldId) -> Self {
        Finding {
            code,
            severity: code.default_severity(),
            field: FieldRef::Field(field),
            limit: None,
        }
    }

    pub fn on(code: Code, field: FieldRef) -> Self {
        Finding {
            code,
            severity: code.default_severity(),
            field,
            limit: None,
        }
    }

    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(u32::try_from(limit).unwrap_or(u32::MAX));
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    fn fill(&self, template: &str) -> String {
        match self.limit {
            Some(n) => template.replace("{limit}", &n.to_string()),
            None => template.to_owned(),
        }
    }

    pub fn message_ja(&self) -> String {
        self.fill(self.code.message_ja_template())
    }

    pub fn message_en(&self) -> String {
        self.fill(self.code.message_en_template())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert!(
                c.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            );
        }
    }

    #[test]
    fn limit_templates_have_a_place_for_the_limit() {
        for c in Code::ALL {
            assert_eq!(
                c.message_ja_template().contains("{limit}"),
                c.message_en_template().contains("{limit}"),
                "{c}"
            );
        }
        let f = Finding::new(Code::TooLong, FieldId::CertificationName).with_limit(100);
        assert_eq!(f.message_en(), "longer than 100 characters");
    }
}
