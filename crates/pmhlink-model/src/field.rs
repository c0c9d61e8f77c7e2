//! Every field of a PMH record by its canonical identity, apart from any wire key.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The canonical identity of every field of a PMH record.
///
/// The wire key (`basicFiveInfo.nameKana`, a CSV column name, …) is profile data; this enum is
/// what rules, mappings and writers agree on, so that a profile can rename or move a key
/// without touching code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldId {
    TypeId,
    MyNumber,
    Name,
    NameKana,
    Address,
    DateOfBirth,
    Sex,
    IsNotDisclosed,
    InsurerNumber,
    CertificationName,
    RecipientNumber,
    SubKey,
    Segment,
    IncomeSegment,
    AdditionalConditions,
    DesignatedMedicalInstitutions,
    IsAlwaysReimbursement,
    CopayKind,
    CopayBurdenDefinition,
    CopayRatePerDay,
    CopayRatePerMonth,
    CopayRatePerVisit,
    CopayAmountPerDay,
    CopayAmountPerMonth,
    CopayAmountPerVisit,
    ValidFrom,
    ValidTo,
    HistoryKey,
    IsDeleted,
    CertificationDetail,
}

/// How a field's value is shaped, whatever the wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Flag,
    /// The certificate face: an ordered list of (item name, item value).
    Items,
}

impl FieldId {
    pub const ALL: [FieldId; 30] = [
        FieldId::TypeId,
        FieldId::MyNumber,
        FieldId::Name,
        FieldId::NameKana,
        FieldId::Address,
        FieldId::DateOfBirth,
        FieldId::Sex,
        FieldId::IsNotDisclosed,
        FieldId::InsurerNumber,
        FieldId::CertificationName,
        FieldId::RecipientNumber,
        FieldId::SubKey,
        FieldId::Segment,
        FieldId::IncomeSegment,
        FieldId::AdditionalConditions,
        FieldId::DesignatedMedicalInstitutions,
        FieldId::IsAlwaysReimbursement,
        FieldId::CopayKind,
        FieldId::CopayBurdenDefinition,
        FieldId::CopayRatePerDay,
        FieldId::CopayRatePerMonth,
        FieldId::CopayRatePerVisit,
        FieldId::CopayAmountPerDay,
        FieldId::CopayAmountPerMonth,
        FieldId::CopayAmountPerVisit,
        FieldId::ValidFrom,
        FieldId::ValidTo,
        FieldId::HistoryKey,
        FieldId::IsDeleted,
        FieldId::CertificationDetail,
    ];

    pub fn kind(self) -> FieldKind {
        match self {
            FieldId::IsNotDisclosed | FieldId::IsDeleted => FieldKind::Flag,
            FieldId::CertificationDetail => FieldKind::Items,
            _ => FieldKind::Text,
        }
    }

    /// Personal data (特定個人情報 / 基本5情報, and the certificate face, which prints them):
    /// a value of such a field is never shown anywhere, not even masked.
    pub fn is_personal(self) -> bool {
        matches!(
            self,
            FieldId::MyNumber
                | FieldId::Name
                | FieldId::NameKana
                | FieldId::Address
                | FieldId::DateOfBirth
                | FieldId::CertificationDetail
        )
    }

    /// The snake_case name used in profile files and pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            FieldId::TypeId => "type_id",
            FieldId::MyNumber => "my_number",
            FieldId::Name => "name",
            FieldId::NameKana => "name_kana",
            FieldId::Address => "address",
            FieldId::DateOfBirth => "date_of_birth",
            FieldId::Sex => "sex",
            FieldId::IsNotDisclosed => "is_not_disclosed",
            FieldId::InsurerNumber => "insurer_number",
            FieldId::CertificationName => "certification_name",
            FieldId::RecipientNumber => "recipient_number",
            FieldId::SubKey => "sub_key",
            FieldId::Segment => "segment",
            FieldId::IncomeSegment => "income_segment",
            FieldId::AdditionalConditions => "additional_conditions",
            FieldId::DesignatedMedicalInstitutions => "designated_medical_institutions",
            FieldId::IsAlwaysReimbursement => "is_always_reimbursement",
            FieldId::CopayKind => "copay_kind",
            FieldId::CopayBurdenDefinition => "copay_burden_definition",
            FieldId::CopayRatePerDay => "copay_rate_per_day",
            FieldId::CopayRatePerMonth => "copay_rate_per_month",
            FieldId::CopayRatePerVisit => "copay_rate_per_visit",
            FieldId::CopayAmountPerDay => "copay_amount_per_day",
            FieldId::CopayAmountPerMonth => "copay_amount_per_month",
            FieldId::CopayAmountPerVisit => "copay_amount_per_visit",
            FieldId::ValidFrom => "valid_from",
            FieldId::ValidTo => "valid_to",
            FieldId::HistoryKey => "history_key",
            FieldId::IsDeleted => "is_deleted",
            FieldId::CertificationDetail => "certification_detail",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_declaration_order_and_complete() {
        for (i, f) in FieldId::ALL.iter().enumerate() {
            assert_eq!(f.index(), i, "{f}");
        }
    }

    #[test]
    fn serde_name_matches_name() {
        for f in FieldId::ALL {
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
        }
    }
}
