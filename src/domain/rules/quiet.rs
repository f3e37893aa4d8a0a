//! When a registrar row changes nothing (R1, R7): the one definition the registrar pass and the
//! planner's triage (`crate::triage`, which tells it from a compact fingerprint of the account
//! before the account is read) both use.

use crate::domain::account::Account;
use crate::domain::model::{PersonId, RegistrarRow};
use crate::domain::text::{fold_kana_key, fold_key};

/// What [`is_quiet`] needs to know of an account on record: the account itself, or what triage
/// keeps of it.
pub(crate) trait OnRecord {
    /// [`Account::is_plain_student`].
    fn is_plain_student(&self) -> bool;
    /// Whether the account holds this 個人番号 (a row may bring one the account lacks: R7).
    fn holds_person_id(&self, person_id: &PersonId) -> bool;
    fn has_birth_date(&self) -> bool;
    /// Whether the row's student number is the account's current one and its 所属 and 身分 are
    /// the account's, and its name and kana name are by their folded keys (R7 compares those).
    fn same_registrar_fields(&self, row: &RegistrarRow) -> bool;
}

/// A registrar row is quiet about the account it alone names when the rules, given that row,
/// decide nothing: the row says the person is enrolled; its 所属, name and kana name are not
/// blank (the rules skip blank values, so a blank one may hide a change); the account is a plain
/// student; the row brings no 個人番号 or birth date the account lacks; and the registrar fields
/// are the account's.
pub(crate) fn is_quiet(row: &RegistrarRow, account: &impl OnRecord) -> bool {
    row.enrollment.is_student()
        && !row.faculty.is_empty()
        && !row.name.is_empty()
        && !row.name_kana.is_empty()
        && account.is_plain_student()
        && row
            .person_id
            .as_ref()
            .is_none_or(|p| account.holds_person_id(p))
        && (row.birth_date.is_none() || account.has_birth_date())
        && account.same_registrar_fields(row)
}

impl OnRecord for Account {
    fn is_plain_student(&self) -> bool {
        Account::is_plain_student(self)
    }

    fn holds_person_id(&self, person_id: &PersonId) -> bool {
        self.person_id.as_ref() == Some(person_id)
    }

    fn has_birth_date(&self) -> bool {
        self.birth_date.is_some()
    }

    fn same_registrar_fields(&self, row: &RegistrarRow) -> bool {
        self.student_no() == Some(&row.student_no)
            && self.faculty == row.faculty
            && self.status == Some(row.status)
            && fold_key(&self.name) == fold_key(&row.name)
            && fold_kana_key(&self.name_kana) == fold_kana_key(&row.name_kana)
    }
}
