//! The typed vocabulary of the domain: identifiers, the registry's categories (身分, 在籍状態,
//! 職種, 申請種別) and the records that ingest produces from each kind of input file.
//!
//! Names are kept exactly as given (the original text is what we store and print); the folded
//! key used for matching is computed by [`crate::domain::text`] when it is needed.
//!
//! Each enum of the domain (here, in `account`, `plan` and `notice`) carries its words next to
//! its variants, and nowhere else: the stored name, which is also the serde name (`as_str`, read
//! back by `from_name`), the Japanese label (`label_ja`) and, where a reason shows one, the
//! English label (`label_en`).

use chrono::NaiveDate;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

macro_rules! id_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub CompactString);

        impl $name {
            pub fn new(s: &str) -> Self {
                Self(CompactString::new(s))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_newtype!(
    /// 学籍番号: a student number. It changes when the person moves on (学部 → 大学院 → 研究生).
    StudentNo
);
id_newtype!(
    /// 個人番号: a registry key that stays with the person across student numbers.
    PersonId
);
id_newtype!(
    /// ECS-ID: the student account. Given once to one person, never to another (R2).
    EcsId
);
id_newtype!(
    /// 職員番号: HR's staff number.
    StaffNo
);

/// The four kinds of input file, recognised by their header signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 教務: the enrollment export.
    Registrar,
    /// 人事: the staff roster (R9).
    Hr,
    /// The support counter's approved renewals and applications (R8, R10, R11).
    Renewals,
    /// The account portal's activations (R4).
    Activations,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Registrar, Kind::Hr, Kind::Renewals, Kind::Activations];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Registrar => "registrar",
            Kind::Hr => "hr",
            Kind::Renewals => "renewals",
            Kind::Activations => "activations",
        }
    }

    /// The value named `s` by [`Kind::as_str`].
    pub fn from_name(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// 身分: the status category of a student.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 学部生 (正規生)
    Undergraduate,
    /// 大学院生 (正規生)
    Graduate,
    /// 研究生 (非正規生)
    ResearchStudent,
    /// 科目等履修生 (非正規生)
    CreditAuditor,
    /// 聴講生 (非正規生)
    Auditor,
    /// 特別聴講学生 (非正規生)
    SpecialAuditor,
    /// 特別研究学生 (非正規生)
    SpecialResearchStudent,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Undergraduate,
        Status::Graduate,
        Status::ResearchStudent,
        Status::CreditAuditor,
        Status::Auditor,
        Status::SpecialAuditor,
        Status::SpecialResearchStudent,
    ];

    /// The snake_case name serde, the store and the mapping profiles use.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Undergraduate => "undergraduate",
            Status::Graduate => "graduate",
            Status::ResearchStudent => "research_student",
            Status::CreditAuditor => "credit_auditor",
            Status::Auditor => "auditor",
            Status::SpecialAuditor => "special_auditor",
            Status::SpecialResearchStudent => "special_research_student",
        }
    }

    /// The value named `s` by [`Status::as_str`].
    pub(crate) fn from_name(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// 正規生 (regular) versus 非正規生.
    pub fn is_regular(self) -> bool {
        matches!(self, Status::Undergraduate | Status::Graduate)
    }

    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            Status::Undergraduate => "学部生",
            Status::Graduate => "大学院生",
            Status::ResearchStudent => "研究生",
            Status::CreditAuditor => "科目等履修生",
            Status::Auditor => "聴講生",
            Status::SpecialAuditor => "特別聴講学生",
            Status::SpecialResearchStudent => "特別研究学生",
        }
    }

    /// The value labelled `s` by [`Status::label_ja`].
    pub(crate) fn from_label_ja(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.label_ja() == s)
    }
}

/// 在籍状態: whether the person is (still) a student.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enrollment {
    /// 在学
    Enrolled,
    /// 休学: on leave, still a student.
    OnLeave,
    /// 留学: studying abroad, still a student (like 休学, never a departure).
    StudyAbroad,
    /// 卒業
    Graduated,
    /// 修了
    Completed,
    /// 退学
    Withdrawn,
    /// 除籍
    Expelled,
}

impl Enrollment {
    pub const ALL: [Enrollment; 7] = [
        Enrollment::Enrolled,
        Enrollment::OnLeave,
        Enrollment::StudyAbroad,
        Enrollment::Graduated,
        Enrollment::Completed,
        Enrollment::Withdrawn,
        Enrollment::Expelled,
    ];

    /// The snake_case name serde and the mapping profiles use.
    pub fn as_str(self) -> &'static str {
        match self {
            Enrollment::Enrolled => "enrolled",
            Enrollment::OnLeave => "on_leave",
            Enrollment::StudyAbroad => "study_abroad",
            Enrollment::Graduated => "graduated",
            Enrollment::Completed => "completed",
            Enrollment::Withdrawn => "withdrawn",
            Enrollment::Expelled => "expelled",
        }
    }

    /// The value named `s` by [`Enrollment::as_str`].
    pub(crate) fn from_name(s: &str) -> Option<Enrollment> {
        Enrollment::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// True while the person is a student (在学, 休学, 留学); false once status is lost (R5).
    pub(crate) fn is_student(self) -> bool {
        matches!(
            self,
            Enrollment::Enrolled | Enrollment::OnLeave | Enrollment::StudyAbroad
        )
    }

    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            Enrollment::Enrolled => "在学",
            Enrollment::OnLeave => "休学",
            Enrollment::StudyAbroad => "留学",
            Enrollment::Graduated => "卒業",
            Enrollment::Completed => "修了",
            Enrollment::Withdrawn => "退学",
            Enrollment::Expelled => "除籍",
        }
    }

    /// The words the plan's English reasons use (R5: "graduated on 2026-03-25").
    pub(crate) fn label_en(self) -> &'static str {
        match self {
            Enrollment::Enrolled => "enrolled",
            Enrollment::OnLeave => "on leave",
            Enrollment::StudyAbroad => "studying abroad",
            Enrollment::Graduated => "graduated",
            Enrollment::Completed => "completed",
            Enrollment::Withdrawn => "withdrew",
            Enrollment::Expelled => "expelled",
        }
    }
}

/// 職種 in HR's roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    /// 教員
    Faculty,
    /// 職員
    Staff,
    /// 非常勤講師
    PartTimeFaculty,
    /// 非常勤職員
    PartTimeStaff,
}

impl JobType {
    pub const ALL: [JobType; 4] = [
        JobType::Faculty,
        JobType::Staff,
        JobType::PartTimeFaculty,
        JobType::PartTimeStaff,
    ];

    /// The snake_case name serde, the store and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Faculty => "faculty",
            JobType::Staff => "staff",
            JobType::PartTimeFaculty => "part_time_faculty",
            JobType::PartTimeStaff => "part_time_staff",
        }
    }

    /// The value named `s` by [`JobType::as_str`].
    pub(crate) fn from_name(s: &str) -> Option<JobType> {
        JobType::ALL.into_iter().find(|j| j.as_str() == s)
    }

    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            JobType::Faculty => "教員",
            JobType::Staff => "職員",
            JobType::PartTimeFaculty => "非常勤講師",
            JobType::PartTimeStaff => "非常勤職員",
        }
    }

    /// The words the plan's English reasons use ("hired 2026-04-01 as Staff"): the variant
    /// names, as those reasons have always printed them.
    pub(crate) fn label_en(self) -> &'static str {
        match self {
            JobType::Faculty => "Faculty",
            JobType::Staff => "Staff",
            JobType::PartTimeFaculty => "PartTimeFaculty",
            JobType::PartTimeStaff => "PartTimeStaff",
        }
    }
}

/// 申請種別 in the counter's renewals file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewalKind {
    /// 利用継続: a former student keeps the ECS-ID as a non-student holder (R8).
    Continuation,
    /// 年度更新: a holder renews for the next 年度 (R10).
    Renewal,
    /// 日本学術振興会特別研究員: a JSPS fellow applies for an ECS-ID and KUMOI (R11).
    JspsFellow,
}

impl RenewalKind {
    pub const ALL: [RenewalKind; 3] = [
        RenewalKind::Continuation,
        RenewalKind::Renewal,
        RenewalKind::JspsFellow,
    ];

    /// The snake_case name serde, the store and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            RenewalKind::Continuation => "continuation",
            RenewalKind::Renewal => "renewal",
            RenewalKind::JspsFellow => "jsps_fellow",
        }
    }

    /// The value named `s` by [`RenewalKind::as_str`].
    pub(crate) fn from_name(s: &str) -> Option<RenewalKind> {
        RenewalKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub(crate) fn label_ja(self) -> &'static str {
        match self {
            RenewalKind::Continuation => "利用継続",
            RenewalKind::Renewal => "年度更新",
            RenewalKind::JspsFellow => "JSPS特別研究員",
        }
    }

    /// The words the plan's English reasons use ("Continuation approved on 2026-03-10"): the
    /// variant names, as those reasons have always printed them.
    pub(crate) fn label_en(self) -> &'static str {
        match self {
            RenewalKind::Continuation => "Continuation",
            RenewalKind::Renewal => "Renewal",
            RenewalKind::JspsFellow => "JspsFellow",
        }
    }
}

/// Where a record came from: the index of the file in its batch and the row as the person who
/// made the file sees it (the spreadsheet row, 1-based, title rows and header included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowRef {
    pub file: u32,
    pub row: u32,
}

/// The identifiers readable in a row, whatever else in it is wrong.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowIds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student_no: Option<StudentNo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs_id: Option<EcsId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_no: Option<StaffNo>,
}

impl RowIds {
    /// No identifier could be read: the row could be anybody's.
    pub fn is_empty(&self) -> bool {
        self.student_no.is_none()
            && self.person_id.is_none()
            && self.ecs_id.is_none()
            && self.staff_no.is_none()
    }
}

/// A data row held out for an error (policy `row_errors = "hold_rows"`): the persons its
/// identifiers name are frozen for the night.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldRow {
    pub at: RowRef,
    pub ids: RowIds,
    /// The row's errors, located and rendered (`FILE:ROW:COLUMN(header): ...`).
    pub errors: Vec<String>,
}

/// One row of the registrar's enrollment export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrarRow {
    pub at: RowRef,
    pub student_no: StudentNo,
    pub person_id: Option<PersonId>,
    pub ecs_id: Option<EcsId>,
    pub name: CompactString,
    pub name_kana: CompactString,
    pub birth_date: Option<NaiveDate>,
    /// 所属 (faculty or graduate school), as written.
    pub faculty: CompactString,
    pub status: Status,
    pub enrollment: Enrollment,
    pub admission_date: Option<NaiveDate>,
    /// 異動年月日: the effective date of the latest change (卒業, 退学, ...).
    pub change_date: Option<NaiveDate>,
}

/// One row of HR's staff roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRow {
    pub at: RowRef,
    pub staff_no: StaffNo,
    pub person_id: Option<PersonId>,
    pub student_no: Option<StudentNo>,
    pub ecs_id: Option<EcsId>,
    pub name: CompactString,
    pub name_kana: CompactString,
    pub birth_date: Option<NaiveDate>,
    pub affiliation: CompactString,
    pub job_type: JobType,
    /// 採用年月日: the conversion date for R9.
    pub hire_date: NaiveDate,
}

/// One approved application from the support counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewalRow {
    pub at: RowRef,
    pub kind: RenewalKind,
    pub ecs_id: Option<EcsId>,
    pub person_id: Option<PersonId>,
    pub student_no: Option<StudentNo>,
    pub name: CompactString,
    pub name_kana: CompactString,
    pub birth_date: Option<NaiveDate>,
    pub affiliation: CompactString,
    pub approved_on: NaiveDate,
    /// 有効期限 when the counter set one; otherwise the policy's end of 年度.
    pub valid_until: Option<NaiveDate>,
}

/// One activation reported by the account portal (R4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationRow {
    pub at: RowRef,
    pub ecs_id: EcsId,
    pub activated_on: NaiveDate,
}

/// The typed rows of one input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "rows", rename_all = "snake_case")]
pub enum Records {
    Registrar(Vec<RegistrarRow>),
    Hr(Vec<StaffRow>),
    Renewals(Vec<RenewalRow>),
    Activations(Vec<ActivationRow>),
}

impl Records {
    pub fn kind(&self) -> Kind {
        match self {
            Records::Registrar(_) => Kind::Registrar,
            Records::Hr(_) => Kind::Hr,
            Records::Renewals(_) => Kind::Renewals,
            Records::Activations(_) => Kind::Activations,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Records::Registrar(v) => v.len(),
            Records::Hr(v) => v.len(),
            Records::Renewals(v) => v.len(),
            Records::Activations(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::check_names;

    #[test]
    fn names_are_the_serde_names() {
        check_names(&Kind::ALL, Kind::as_str, Kind::from_name);
        check_names(&Status::ALL, Status::as_str, Status::from_name);
        check_names(&Enrollment::ALL, Enrollment::as_str, Enrollment::from_name);
        check_names(&JobType::ALL, JobType::as_str, JobType::from_name);
        check_names(
            &RenewalKind::ALL,
            RenewalKind::as_str,
            RenewalKind::from_name,
        );
    }

    #[test]
    fn english_labels_of_job_and_renewal_are_the_variant_names() {
        for j in JobType::ALL {
            assert_eq!(j.label_en(), format!("{j:?}"));
        }
        for k in RenewalKind::ALL {
            assert_eq!(k.label_en(), format!("{k:?}"));
        }
    }

    #[test]
    fn status_labels_read_back() {
        for st in Status::ALL {
            assert_eq!(Status::from_label_ja(st.label_ja()), Some(st));
        }
    }
}
