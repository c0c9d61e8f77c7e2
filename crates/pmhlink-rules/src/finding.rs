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
    ($( $variant:ident = $code:literal, $sev:ident, $ja:literal, $en:literal,
        raised: $raised:literal, action: $action:literal; )*) => {
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

            /// Where pmhlink raises it (run, lint, and which step), for the findings catalogue.
            pub fn raised_in(self) -> &'static str {
                match self { $( Code::$variant => $raised, )* }
            }

            /// What the operator does about it, for the findings catalogue.
            pub fn operator_action(self) -> &'static str {
                match self { $( Code::$variant => $action, )* }
            }

            /// The variant's name in the code (`MyNumberCheckDigit`), so a test can find where
            /// each code is raised.
            pub fn rust_name(self) -> &'static str {
                match self { $( Code::$variant => stringify!($variant), )* }
            }
        }
    };
}

codes! {
    RecordNotObject = "record-not-object", Error,
        "レコードがオブジェクトではありません", "the record is not an object",
        raised: "lint, reading a JSON payload",
        action: "Fix the tool that wrote the file: each element of the top-level array must be a JSON object.";
    UnknownKey = "unknown-key", Error,
        "インタフェースプロファイルにない項目です", "a key the interface profile does not define",
        raised: "lint, reading a payload (JSON key or CSV column)",
        action: "Remove or rename the key; if the agency added it, correct a copy of the profile (`--profile`).";
    DuplicateKey = "duplicate-key", Error,
        "同じ項目が2回以上あります", "the object gives this key more than once",
        raised: "lint, reading a JSON payload",
        action: "Keep one value for the key: PMH would judge only one of them.";
    WrongType = "wrong-type", Error,
        "項目の型が違います", "the value has the wrong type",
        raised: "lint, reading a payload",
        action: "Write the value as the profile's type: identifiers and codes as strings (quoted), flags as booleans.";
    RequiredMissing = "required-missing", Error,
        "必須項目がありません", "a required field is missing or empty",
        raised: "run and lint (the profile's shape rules)",
        action: "Fill the field at the source (or its `mapping`/`default` in the pipeline file); the record is sent once it is present.";
    TooLong = "too-long", Error,
        "{limit}文字を超えています", "longer than {limit} characters",
        raised: "run and lint (the profile's shape rules)",
        action: "Shorten the value at the source to the profile's limit.";
    WrongLength = "wrong-length", Error,
        "{limit}文字ではありません", "not exactly {limit} characters",
        raised: "run and lint (the profile's shape rules)",
        action: "Correct the number at the source: it must have exactly that many digits (leading zeros included).";
    NotDigits = "not-digits", Error,
        "半角数字以外の文字があります", "contains characters other than ASCII digits",
        raised: "run and lint (the profile's character classes)",
        action: "In a pipeline, add the `identifier` or `fold_digits` clean step; in a hand-made file, write ASCII digits only.";
    NotAsciiAlnum = "not-ascii-alnum", Error,
        "半角英数字以外の文字があります", "contains characters other than ASCII letters and digits",
        raised: "run and lint (the profile's character classes)",
        action: "Remove separators and full-width characters (the `identifier` clean step), or correct the value at the source.";
    NotIsoDate = "not-iso-date", Error,
        "日付がYYYY-MM-DD形式ではありません", "the date is not in YYYY-MM-DD form",
        raised: "run (`era_date` cleaning) and lint",
        action: "In a pipeline, add the `era_date` clean step (or `rules.era` for unusual era codes); in a hand-made file, write `YYYY-MM-DD`.";
    NotKatakana = "not-katakana", Error,
        "全角カタカナ以外の文字があります", "contains characters outside full-width katakana",
        raised: "run and lint (the profile's character classes)",
        action: "Add the `widen_kana` and `kana_separator` clean steps; correct hiragana or kanji in the kana name at the source.";
    NotInCodeList = "not-in-code-list", Error,
        "許される値ではありません", "not one of the allowed codes",
        raised: "run and lint (the profile's code lists)",
        action: "Map the source's values to the allowed codes with `map` in the pipeline file, or correct the value.";
    ControlCharacter = "control-character", Error,
        "制御文字(改行・タブ等)があります", "contains a control character (newline, tab, …)",
        raised: "run and lint (the profile's character classes)",
        action: "Remove the line break or tab from the value at the source.";
    TooManyItems = "too-many-items", Error,
        "券面項目が{limit}件を超えています", "more than {limit} certificate face items",
        raised: "run and lint (the profile's shape rules)",
        action: "Map fewer `certification_detail` items (or `skip_empty` ones), within the profile's limit.";
    CsvFieldCount = "csv-field-count", Error,
        "CSVの列数がヘッダと合いません", "the CSV row has a different number of fields than the header",
        raised: "lint, reading a CSV payload",
        action: "Fix the row's quoting or separators so it has as many fields as the header.";
    TextNotUtf8 = "text-not-utf8", Error,
        "UTF-8として読めない文字があります", "the text is not valid UTF-8",
        raised: "lint, reading a payload",
        action: "Save the file as UTF-8 (not Shift_JIS/CP932).";
    AdditionalConditionsFormat = "additional-conditions-format", Error,
        "追加条件が「項目コード-条件コード」を「;」で区切った形式ではありません", "additionalConditions is not `item-condition` code pairs joined by `;`",
        raised: "run and lint (domain rules)",
        action: "Write 追加条件 as `項目コード-条件コード` pairs of ASCII letters and digits joined by `;` (`01-1;02-3`), with no empty pair or trailing `;`.";
    DuplicateRecord = "duplicate-record", Error,
        "同じ受給者証・履歴キーのレコードが前にあります", "an earlier record has the same certificate and history key",
        raised: "run (reading the primary source) and lint (across the file)",
        action: "Remove the repeated row at the source, or give each history row its own history key; the first occurrence is the one sent.";
    MyNumberCheckDigit = "my-number-check-digit", Error,
        "個人番号のチェックデジットが合いません", "the My Number check digit does not match",
        raised: "run and lint (domain rules)",
        action: "Correct the My Number in the resident system (usually a typing error); the record is sent once it checks.";
    MyNumberAllZero = "my-number-all-zero", Error,
        "個人番号がすべて0です", "the My Number is all zeros",
        raised: "run and lint (domain rules)",
        action: "Enter the person's My Number in the resident system: all zeros is a placeholder.";
    InsurerCheckDigit = "insurer-check-digit", Error,
        "公費負担者番号のチェックデジットが合いません", "the 公費負担者番号 check digit does not match",
        raised: "run and lint (domain rules)",
        action: "Correct the 公費負担者番号 at the source or in the programme's `insurer_number`.";
    InsurerPrefecture = "insurer-prefecture", Error,
        "公費負担者番号の都道府県番号が01〜47ではありません", "the 公費負担者番号 prefecture is not 01–47",
        raised: "run and lint (domain rules)",
        action: "Correct the 公費負担者番号: its third and fourth digits are the prefecture.";
    InsurerHoubetsuIsInsurer = "insurer-houbetsu-is-insurer", Error,
        "公費負担者番号の法別番号が保険者の法別番号です", "the 公費負担者番号 carries an insurer's 法別番号 (a typing error)",
        raised: "run and lint (domain rules)",
        action: "An insurer's number was entered as the 公費負担者番号: enter the programme's 公費負担者番号.";
    InsurerHoubetsuUnknown = "insurer-houbetsu-unknown", Warning,
        "法別番号が国の公費にも地単の登録にもありません", "the 法別番号 is neither national nor in the site's local programmes",
        raised: "run and lint (domain rules)",
        action: "Register the local programme in `rules.local_programs` (or the site file, `lint --site`); sent meanwhile.";
    InsurerPrefectureMismatch = "insurer-prefecture-mismatch", Warning,
        "公費負担者番号の都道府県番号が団体コードと合いません", "the 公費負担者番号 prefecture differs from the municipality's",
        raised: "run and lint (domain rules, with the 団体コード)",
        action: "Check the 公費負担者番号 and `municipality.code`; sent meanwhile.";
    RecipientCheckDigit = "recipient-check-digit", Error,
        "公費受給者番号(国の公費)のチェックデジットが合いません", "the national 公費受給者番号 check digit does not match",
        raised: "run and lint (domain rules)",
        action: "Correct the 公費受給者番号 at the source: national programmes' numbers carry a check digit.";
    RecipientLocalRule = "recipient-local-rule", Warning,
        "公費受給者番号(地単)が7桁チェックデジット規則に合いません", "the local 公費受給者番号 does not follow the 7-digit check rule",
        raised: "run and lint (domain rules)",
        action: "Nothing if the local programme numbers otherwise; `rules.local_recipient` makes it an error or turns it off.";
    DateInvalid = "date-invalid", Error,
        "存在しない日付です", "the date does not exist",
        raised: "run (`era_date` cleaning) and lint",
        action: "Correct the date at the source (month 13, 2月30日, era year 0).";
    DateBeforeEra = "date-before-era", Error,
        "元号の開始より前の日付です", "the date is before its era began",
        raised: "run (`era_date` cleaning)",
        action: "Correct the era or the date at the source (`R010430` is before 令和 began).";
    EraOverflow = "era-overflow", Warning,
        "改元後の日付を旧元号で表しています", "the date is written in an era that had already ended",
        raised: "run (`era_date` cleaning)",
        action: "Nothing in `rules.date_mode = \"lenient\"` (converted and sent); an error in `strict`. A validity end meaning \"no end\" is `rules.open_end`'s business instead.";
    ValidPeriodInverted = "valid-period-inverted", Error,
        "有効期間の始期が終期より後です", "validFrom is after validTo",
        raised: "run and lint (domain rules)",
        action: "Correct the validity period at the source.";
    BirthInFuture = "birth-in-future", Error,
        "生年月日が未来の日付です", "the date of birth is in the future",
        raised: "run and lint (domain rules, with the business date)",
        action: "Correct the date of birth in the resident system (often an era mistaken).";
    GaijiUnmapped = "gaiji-unmapped", Error,
        "対応表にない外字があります", "a user-defined character (外字) with no mapping",
        raised: "run (`gaiji` cleaning) and lint (domain rules)",
        action: "Add the character's replacement to `rules.gaiji` (or the site file); the vendor can say which character it is.";
    JoinMissing = "join-missing", Error,
        "必須の結合先に対応するレコードがありません", "no row in a required joined source",
        raised: "run (joining)",
        action: "Find why the joined export lacks the key (a resident missing from the resident export, a key written differently).";
    JoinAmbiguous = "join-ambiguous", Error,
        "結合キーが結合先で重複しています", "the join key occurs more than once in the joined source",
        raised: "run (joining)",
        action: "Make the key unique in the joined export, or join on a column that is.";
    CodeNotMapped = "code-not-mapped", Error,
        "コード変換表にない値です", "a value the code map does not cover",
        raised: "run (mapping)",
        action: "Add the value to the field's `map` (or give `map_default`), or correct it at the source.";
    UnknownProgram = "unknown-program", Error,
        "制度コードがパイプラインに設定されていません", "the programme code is not configured in the pipeline",
        raised: "run (mapping)",
        action: "Add the programme to `programs`, or, if PMH does not carry it, its code to `program.ignore`.";
    SourceRowUnreadable = "source-row-unreadable", Error,
        "元データの行を読めません", "the source row could not be read",
        raised: "run (reading a source; the plugin's reason is beside it)",
        action: "Fix the row in the vendor export (a malformed byte, a short line); the reason names the position.";
    JoinRowUnreadable = "join-row-unreadable", Error,
        "結合先のデータに読めない行があり、このレコードに関係する可能性があります", "a row of a joined source that may concern this record could not be read",
        raised: "run (joining)",
        action: "Fix the unreadable row of the joined export (listed in the quarantine list with its line).";
    OutsideJisX0208 = "outside-jis-x0208", Warning,
        "JIS X 0208外の文字があります(レセコンで表示できない場合があります)", "characters outside JIS X 0208 (some receipt computers reject them)",
        raised: "run and lint (domain rules)",
        action: "Nothing required (sent); consider the JIS X 0208 form of the character if clinics report trouble.";
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

/// A table cell: pipes escaped, `{limit}` shown as `N`.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace("{limit}", "N")
}

/// The findings catalogue, `docs/findings.md`: every code with its severity, meaning, what the
/// operator does about it and where pmhlink raises it, generated from the codes table
/// (`cargo xtask docs`; a test keeps the page in step).
pub fn catalogue_markdown() -> String {
    let mut page = String::from(
        "# Findings\n\n\
         <!-- Generated from crates/pmhlink-rules/src/finding.rs by `cargo xtask docs`; do not edit. -->\n\n\
         Every finding pmhlink reports — in run reports (`findings_by_code`), the quarantine list \
         and `pmhlink lint` — carries one of these codes. Codes are stable: spreadsheets and \
         scripts may key on them. An **error** quarantines the record (a run) or fails the file \
         (lint); a **warning** is reported and the record is sent. Messages never quote a value: \
         they name the field and, where it matters, a limit (N).\n\n\
         Where a finding is raised: **run** is `pmhlink run`/`plan` (reading, joining, cleaning \
         and checking source data), **lint** is `pmhlink lint` on a payload file. Rules marked \
         \"run and lint\" are the same function in both (`check_record`).\n\n\
         | code | severity | meaning | what to do | raised by |\n\
         |---|---|---|---|---|\n",
    );
    for c in Code::ALL {
        let severity = match c.default_severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        page.push_str(&format!(
            "| `{}` | {severity} | {} ({}) | {} | {} |\n",
            c.as_str(),
            cell(c.message_en_template()),
            cell(c.message_ja_template()),
            cell(c.operator_action()),
            cell(c.raised_in()),
        ));
    }
    page.push_str(
        "\nSeverities a pipeline can change: `recipient-local-rule` (`rules.local_recipient`: \
         error, warning or off) and `era-overflow` (an error under `rules.date_mode = \"strict\"`).\n",
    );
    page
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
