//! Scaffolding shared by the unit tests, the integration tests and the examples: a neutral
//! [`Account`] to build fixtures from. Compiled only for tests and with the `test-support` feature
//! (which the crate's dev-dependency on itself turns on), so a release build carries none of it.

use compact_str::format_compact;

use crate::domain::account::{Account, Role, State};
use crate::domain::model::EcsId;

impl Account {
    /// An active student account holding `ecs_id`, with the KUMOI address
    /// `{ecs_id}@st.example.ac.jp`, the name 山田　太郎 (ヤマダ　タロウ) at 工学部, and every other
    /// field empty: no 個人番号, student number, birth date or 身分, nothing scheduled. A fixture
    /// sets what it is about with struct-update syntax:
    /// `Account { state: State::Pending, ..Account::sample("a0000001") }`.
    pub fn sample(ecs_id: &str) -> Account {
        Account {
            ecs_id: EcsId::new(ecs_id),
            kumoi: format_compact!("{ecs_id}@st.example.ac.jp"),
            person_id: None,
            student_nos: Vec::new(),
            name: "山田\u{3000}太郎".into(),
            name_kana: "ヤマダ\u{3000}タロウ".into(),
            birth_date: None,
            faculty: "工学部".into(),
            status: None,
            role: Role::Student,
            state: State::Active,
            activation_deadline: None,
            activation_expired: false,
            stop_on: None,
            stop_reason: None,
            departed_on: None,
            reminder_on: None,
            reminder_sent: false,
            holder_until: None,
            expiry_notice_for: None,
            hire: None,
            approval: None,
        }
    }
}
