//! The canonical PMH record: the person, the certificate, its copayment and its face items.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{FieldId, Pii};

/// 対象者個人に係る情報: the person a certificate belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub my_number: Pii<String>,
    pub name: Pii<String>,
    pub name_kana: Pii<String>,
    pub address: Pii<String>,
    /// `YYYY-MM-DD` in the sent form.
    pub date_of_birth: Pii<String>,
    /// `1` male, `2` female, `0` unknown (programs that do not manage sex send `0`).
    pub sex: String,
    pub is_not_disclosed: bool,
}

/// 自己負担上限額: the copayment cap a receipt computer copies. Inner structure is an
/// interface assumption (see the profile).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaxCopayment {
    pub kind: Option<String>,
    pub burden_definition: Option<String>,
    pub rate_per_day: Option<String>,
    pub rate_per_month: Option<String>,
    pub rate_per_visit: Option<String>,
    pub amount_per_day: Option<String>,
    pub amount_per_month: Option<String>,
    pub amount_per_visit: Option<String>,
}

impl MaxCopayment {
    fn is_empty(&self) -> bool {
        *self == MaxCopayment::default()
    }
}

/// レセコン転記項目: what a clinic's receipt computer copies verbatim.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptFields {
    /// 公費負担者番号, 8 digits.
    pub insurer_number: Option<String>,
    /// 公費受給者番号, 7 digits for national programmes, up to 30 characters for local ones.
    pub recipient_number: Option<String>,
    /// 受給者証サブキー: tells apart certificates sharing one 公費受給者番号.
    pub sub_key: Option<String>,
    pub segment: Option<String>,
    pub income_segment: Option<String>,
    pub additional_conditions: Option<String>,
    pub designated_medical_institutions: Option<String>,
    /// `"0"` or `"1"`.
    pub is_always_reimbursement: String,
    pub max_copayment: Option<MaxCopayment>,
    pub valid_from: String,
    pub valid_to: String,
}

/// One printed item of the certificate face, in display order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailItem {
    pub name: String,
    /// A face item may print the holder's name or address, so its value is personal.
    pub value: Pii<String>,
}

/// 受給者証券面項目: the certificate as printed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFace {
    pub certification_name: String,
    pub details: Vec<DetailItem>,
}

/// One version (period) of a certificate as PMH keeps it in diff-history sync.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HistoryRow {
    pub key: String,
    pub deleted: bool,
}

/// One PMH record: a certificate, and in diff-history sync the history row it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// 機関別受給者証種別ID.
    pub type_id: String,
    pub person: Person,
    pub receipt: ReceiptFields,
    pub face: CertificateFace,
    /// Present in diff-history (E05/E06) and reset (E11/E12) records, absent in full sync.
    pub history: Option<HistoryRow>,
}

/// What makes a certificate one certificate: type + My Number + 公費受給者番号 + サブキー.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CertificateId {
    pub type_id: String,
    pub my_number: Pii<String>,
    pub recipient_number: String,
    pub sub_key: String,
}

impl fmt::Debug for CertificateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateId")
            .field("type_id", &self.type_id)
            .field("my_number", &self.my_number)
            .field("recipient_number", &self.recipient_number)
            .field("sub_key", &self.sub_key)
            .finish()
    }
}

fn opt(value: &Option<String>) -> Option<&str> {
    value.as_deref()
}

fn copay(r: &mut ReceiptFields) -> &mut MaxCopayment {
    r.max_copayment.get_or_insert_with(Default::default)
}

impl Record {
    pub fn certificate_id(&self) -> CertificateId {
        CertificateId {
            type_id: self.type_id.clone(),
            my_number: self.person.my_number.clone(),
            recipient_number: self.receipt.recipient_number.clone().unwrap_or_default(),
            sub_key: self.receipt.sub_key.clone().unwrap_or_default(),
        }
    }

    /// A 64-bit digest of what must be unique within one upload: the certificate identity and
    /// its history row (in full sync, its validity start). Duplicates are found without keeping
    /// any personal value in memory.
    pub fn identity_digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.certificate_id().hash(&mut h);
        match &self.history {
            Some(row) => row.key.hash(&mut h),
            None => self.receipt.valid_from.hash(&mut h),
        }
        h.finish()
    }

    /// The value of a text field, `None` when an optional field is absent.
    ///
    /// Required text fields are plain `String`s and are returned even when empty; callers that
    /// care about presence treat `""` as missing.
    pub fn text(&self, field: FieldId) -> Option<&str> {
        let r = &self.receipt;
        let copay = r.max_copayment.as_ref();
        let c = |f: fn(&MaxCopayment) -> &Option<String>| copay.and_then(|c| f(c).as_deref());
        match field {
            FieldId::TypeId => Some(&self.type_id),
            FieldId::MyNumber => Some(self.person.my_number.expose()),
            FieldId::Name => Some(self.person.name.expose()),
            FieldId::NameKana => Some(self.person.name_kana.expose()),
            FieldId::Address => Some(self.person.address.expose()),
            FieldId::DateOfBirth => Some(self.person.date_of_birth.expose()),
            FieldId::Sex => Some(&self.person.sex),
            FieldId::InsurerNumber => opt(&r.insurer_number),
            FieldId::CertificationName => Some(&self.face.certification_name),
            FieldId::RecipientNumber => opt(&r.recipient_number),
            FieldId::SubKey => opt(&r.sub_key),
            FieldId::Segment => opt(&r.segment),
            FieldId::IncomeSegment => opt(&r.income_segment),
            FieldId::AdditionalConditions => opt(&r.additional_conditions),
            FieldId::DesignatedMedicalInstitutions => opt(&r.designated_medical_institutions),
            FieldId::IsAlwaysReimbursement => Some(&r.is_always_reimbursement),
            FieldId::CopayKind => c(|c| &c.kind),
            FieldId::CopayBurdenDefinition => c(|c| &c.burden_definition),
            FieldId::CopayRatePerDay => c(|c| &c.rate_per_day),
            FieldId::CopayRatePerMonth => c(|c| &c.rate_per_month),
            FieldId::CopayRatePerVisit => c(|c| &c.rate_per_visit),
            FieldId::CopayAmountPerDay => c(|c| &c.amount_per_day),
            FieldId::CopayAmountPerMonth => c(|c| &c.amount_per_month),
            FieldId::CopayAmountPerVisit => c(|c| &c.amount_per_visit),
            FieldId::ValidFrom => Some(&r.valid_from),
            FieldId::ValidTo => Some(&r.valid_to),
            FieldId::HistoryKey => self.history.as_ref().map(|h| h.key.as_str()),
            FieldId::IsNotDisclosed | FieldId::IsDeleted | FieldId::CertificationDetail => None,
        }
    }

    /// Sets a text field. Setting a flag or the item list through this is a programming error.
    pub fn set_text(&mut self, field: FieldId, value: String) {
        let r = &mut self.receipt;
        match field {
            FieldId::TypeId => self.type_id = value,
            FieldId::MyNumber => self.person.my_number = Pii::new(value),
            FieldId::Name => self.person.name = Pii::new(value),
            FieldId::NameKana => self.person.name_kana = Pii::new(value),
            FieldId::Address => self.person.address = Pii::new(value),
            FieldId::DateOfBirth => self.person.date_of_birth = Pii::new(value),
            FieldId::Sex => self.person.sex = value,
            FieldId::InsurerNumber => r.insurer_number = Some(value),
            FieldId::CertificationName => self.face.certification_name = value,
            FieldId::RecipientNumber => r.recipient_number = Some(value),
            FieldId::SubKey => r.sub_key = Some(value),
            FieldId::Segment => r.segment = Some(value),
            FieldId::IncomeSegment => r.income_segment = Some(value),
            FieldId::AdditionalConditions => r.additional_conditions = Some(value),
            FieldId::DesignatedMedicalInstitutions => {
                r.designated_medical_institutions = Some(value)
            }
            FieldId::IsAlwaysReimbursement => r.is_always_reimbursement = value,
            FieldId::CopayKind => copay(r).kind = Some(value),
            FieldId::CopayBurdenDefinition => copay(r).burden_definition = Some(value),
            FieldId::CopayRatePerDay => copay(r).rate_per_day = Some(value),
            FieldId::CopayRatePerMonth => copay(r).rate_per_month = Some(value),
            FieldId::CopayRatePerVisit => copay(r).rate_per_visit = Some(value),
            FieldId::CopayAmountPerDay => copay(r).amount_per_day = Some(value),
            FieldId::CopayAmountPerMonth => copay(r).amount_per_month = Some(value),
            FieldId::CopayAmountPerVisit => copay(r).amount_per_visit = Some(value),
            FieldId::ValidFrom => r.valid_from = value,
            FieldId::ValidTo => r.valid_to = value,
            FieldId::HistoryKey => self.history.get_or_insert_with(Default::default).key = value,
            FieldId::IsNotDisclosed | FieldId::IsDeleted | FieldId::CertificationDetail => {
                panic!("set_text on non-text field {field}")
            }
        }
    }

    pub fn flag(&self, field: FieldId) -> Option<bool> {
        match field {
            FieldId::IsNotDisclosed => Some(self.person.is_not_disclosed),
            FieldId::IsDeleted => self.history.as_ref().map(|h| h.deleted),
            _ => None,
        }
    }

    pub fn set_flag(&mut self, field: FieldId, value: bool) {
        match field {
            FieldId::IsNotDisclosed => self.person.is_not_disclosed = value,
            FieldId::IsDeleted => self.history.get_or_insert_with(Default::default).deleted = value,
            _ => panic!("set_flag on non-flag field {field}"),
        }
    }

    /// Drops an all-empty copayment cap so that "no cap" has one representation.
    pub fn normalise_empty_parts(&mut self) {
        if self
            .receipt
            .max_copayment
            .as_ref()
            .is_some_and(MaxCopayment::is_empty)
        {
            self.receipt.max_copayment = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldKind;

    #[test]
    fn every_text_field_round_trips_through_set_and_get() {
        let mut r = Record::default();
        for f in FieldId::ALL
            .into_iter()
            .filter(|f| f.kind() == FieldKind::Text)
        {
            let v = format!("v-{}", f.name());
            r.set_text(f, v.clone());
            assert_eq!(r.text(f), Some(v.as_str()), "{f}");
        }
        for f in FieldId::ALL
            .into_iter()
            .filter(|f| f.kind() == FieldKind::Flag)
        {
            r.set_flag(f, true);
            assert_eq!(r.flag(f), Some(true), "{f}");
        }
    }

    #[test]
    fn debug_never_shows_personal_values() {
        let mut r = Record::default();
        r.set_text(FieldId::MyNumber, "123456789018".into());
        r.set_text(FieldId::Name, "愛知花子".into());
        r.set_text(FieldId::NameKana, "アイチハナコ".into());
        r.set_text(FieldId::Address, "愛知県B市".into());
        r.set_text(FieldId::DateOfBirth, "2013-01-01".into());
        r.face.details.push(DetailItem {
            name: "氏名".into(),
            value: Pii::new("愛知花子".into()),
        });
        let shown = format!("{r:?} {:?} {}", r.certificate_id(), r.person.name);
        for secret in [
            "123456789018",
            "愛知花子",
            "アイチハナコ",
            "愛知県B市",
            "2013-01-01",
        ] {
            assert!(!shown.contains(secret), "leaked {secret}");
        }
    }

    #[test]
    fn empty_copayment_normalises_to_none() {
        let mut r = Record::default();
        r.receipt.max_copayment = Some(MaxCopayment::default());
        r.normalise_empty_parts();
        assert_eq!(r.receipt.max_copayment, None);
    }
}
