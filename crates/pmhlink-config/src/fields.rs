//! `[mapping]` as a table: one optional entry per PMH field, plus the certificate face.

use pmhlink_model::FieldId;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::mapping::Mapping;

/// One item of the certificate face (受給者証の記載事項), in print order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetailItemMapping {
    /// The item's name as printed (`"受給者証名"`, `"有効期間"`).
    pub name: String,
    /// How the item's value is filled.
    pub value: Mapping,
    /// Leave the item out when its value is empty (instead of sending it empty).
    #[serde(default)]
    pub skip_empty: bool,
}

/// Declares one optional [`Mapping`] per text/flag [`FieldId`], so `deny_unknown_fields` names
/// every field in its error and the schema documents each; the `match` in `get` stops the
/// build when `FieldId` gains a variant this table lacks.
macro_rules! field_mappings {
    ($( $(#[doc = $doc:literal])+ $field:ident => $variant:ident, )*) => {
        /// One entry per PMH field, keyed by the field's name. Unknown names are errors.
        #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct FieldMappings {
            $(
                $(#[doc = $doc])+
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<Mapping>,
            )*
            /// 受給者証の記載事項: the certificate face, an array of items in print order.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub certification_detail: Option<Vec<DetailItemMapping>>,
        }

        impl FieldMappings {
            /// The mapping of a text or flag field; `None` for an unmapped field and for
            /// `certification_detail`, whose items are [`Self::certification_detail`].
            pub fn get(&self, field: FieldId) -> Option<&Mapping> {
                match field {
                    $( FieldId::$variant => self.$field.as_ref(), )*
                    FieldId::CertificationDetail => None,
                }
            }
        }
    };
}

field_mappings! {
    /// 医療費助成種別 ID (usually `{ program = "type_id" }`).
    type_id => TypeId,
    /// 個人番号 (My Number), 12 digits.
    my_number => MyNumber,
    /// 氏名.
    name => Name,
    /// 氏名（カナ）: full-width katakana, one U+3000 between family and given name.
    name_kana => NameKana,
    /// 住所.
    address => Address,
    /// 生年月日, sent as `YYYY-MM-DD` (use `era_date` for era dates).
    date_of_birth => DateOfBirth,
    /// 性別: `1` male, `2` female, `0` not managed (programmes with `manages_sex = false` send
    /// `0` whatever this says).
    sex => Sex,
    /// 不開示フラグ: `true`/`false` (often `{ exists = "<支援措置 source>" }`).
    is_not_disclosed => IsNotDisclosed,
    /// 公費負担者番号, 8 digits.
    insurer_number => InsurerNumber,
    /// 受給者証名.
    certification_name => CertificationName,
    /// 公費受給者番号, 7 digits.
    recipient_number => RecipientNumber,
    /// サブキー: tells apart certificates of one programme held by one person.
    sub_key => SubKey,
    /// 区分.
    segment => Segment,
    /// 所得区分.
    income_segment => IncomeSegment,
    /// 付加条件.
    additional_conditions => AdditionalConditions,
    /// 指定医療機関.
    designated_medical_institutions => DesignatedMedicalInstitutions,
    /// 常時償還フラグ.
    is_always_reimbursement => IsAlwaysReimbursement,
    /// 上限額種別.
    copay_kind => CopayKind,
    /// 負担定義.
    copay_burden_definition => CopayBurdenDefinition,
    /// 日額負担率.
    copay_rate_per_day => CopayRatePerDay,
    /// 月額負担率.
    copay_rate_per_month => CopayRatePerMonth,
    /// 回額負担率.
    copay_rate_per_visit => CopayRatePerVisit,
    /// 日額上限額.
    copay_amount_per_day => CopayAmountPerDay,
    /// 月額上限額.
    copay_amount_per_month => CopayAmountPerMonth,
    /// 回額上限額.
    copay_amount_per_visit => CopayAmountPerVisit,
    /// 有効開始日, `YYYY-MM-DD`.
    valid_from => ValidFrom,
    /// 有効終了日, `YYYY-MM-DD`.
    valid_to => ValidTo,
    /// 履歴キー: identifies one history row of a certificate. When not mapped, pmhlink derives
    /// one from the certificate's identity (without the My Number) and `valid_from`.
    history_key => HistoryKey,
    /// 削除フラグ of a history row.
    is_deleted => IsDeleted,
}

impl FieldMappings {
    /// Whether `field` is mapped (for `certification_detail`: whether it has items).
    pub fn is_mapped(&self, field: FieldId) -> bool {
        match field {
            FieldId::CertificationDetail => self.certification_detail.is_some(),
            f => self.get(f).is_some(),
        }
    }

    /// Every mapped text or flag field with its mapping, in `FieldId` order.
    pub fn iter(&self) -> impl Iterator<Item = (FieldId, &Mapping)> {
        FieldId::ALL
            .into_iter()
            .filter_map(|f| self.get(f).map(|m| (f, m)))
    }

    /// The certificate-face items (empty when unmapped).
    pub fn detail_items(&self) -> &[DetailItemMapping] {
        self.certification_detail.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::ValueSource;

    #[test]
    fn get_covers_every_text_and_flag_field() {
        let m = FieldMappings {
            is_deleted: Some(Mapping::from_source(ValueSource::Constant("false".into()))),
            ..FieldMappings::default()
        };
        assert!(m.get(FieldId::IsDeleted).is_some());
        assert!(m.is_mapped(FieldId::IsDeleted));
        assert!(!m.is_mapped(FieldId::CertificationDetail));
        assert_eq!(m.iter().count(), 1);
    }
}
