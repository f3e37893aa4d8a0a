//! Scaffolding shared by the unit tests, the integration tests and the example generators: a
//! neutral [`Account`] and [`Action`] to build fixtures from, the xorshift streams that
//! generated worlds and sample files are drawn from, and an `.xlsb` writer ([`xlsb`]). Compiled
//! only for tests and with the `test-support` feature (which the crate's dev-dependency on
//! itself turns on), so a release build carries none of it.

pub mod xlsb;

use compact_str::format_compact;

use crate::domain::account::{Account, Role, State};
use crate::domain::model::EcsId;
use crate::domain::plan::{Action, ActionKind, Person, Rule};

/// The registrar export's header (`mappings/registrar.toml`), in column order.
pub const REGISTRAR_HEADER: [&str; 11] = [
    "学籍番号",
    "個人番号",
    "ECS-ID",
    "氏名",
    "氏名カナ",
    "生年月日",
    "所属",
    "身分",
    "在籍状態",
    "入学年月日",
    "異動年月日",
];

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

impl Action {
    /// An action of `kind` under `rule` with every other field empty (no person, source,
    /// reason or account after it), for a fixture to fill in with struct-update syntax.
    pub fn sample(kind: ActionKind, rule: Rule) -> Action {
        Action::new(
            kind,
            rule,
            Person::default(),
            None,
            String::new(),
            String::new(),
        )
    }
}

/// A deterministic xorshift stream: the same numbers on every machine, so a failing seed replays
/// and a generator writes the same bytes on every run.
///
/// Two step functions are in use and each stream keeps the one it was made with, since every
/// generated world and sample file depends on its exact sequence: Marsaglia's xorshift64
/// (shifts 13, 7, 17; the rules' law tests and triage's generated worlds) and Vigna's
/// xorshift64* (shifts 12, 25, 27, the output multiplied; the example generators). Likewise
/// the ways of drawing below a bound differ, and each has its own method.
#[derive(Debug, Clone)]
pub struct XorShift {
    state: u64,
    star: bool,
}

impl XorShift {
    /// xorshift64 from `state` (made odd: zero is xorshift's fixed point).
    pub fn plain(state: u64) -> XorShift {
        XorShift {
            state: state | 1,
            star: false,
        }
    }

    /// xorshift64* from `state` (made odd: zero is xorshift's fixed point).
    pub fn star(state: u64) -> XorShift {
        XorShift {
            state: state | 1,
            star: true,
        }
    }

    /// `seed` multiplied by the golden ratio, so that nearby seeds start far apart.
    pub fn spread(seed: u64) -> u64 {
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// A state for item `k` of a world seeded with `seed` (splitmix64 of both), so that each
    /// item draws from its own stream whatever the others drew.
    pub fn for_item(seed: u64, k: u64) -> u64 {
        let mut z = XorShift::spread(seed)
            .wrapping_add(k.wrapping_add(1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next number of the stream.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        if self.star {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.state = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.state = x;
            x
        }
    }

    /// A number in `0..n`: the next number modulo `n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `0..n` from the next number's 53 high bits, modulo `n`.
    pub fn below_high(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) % n as u64) as usize
    }

    /// A number in `0..n`: the next number's 32 high bits scaled to `n` (no division).
    pub fn below_scaled(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// True once in `n` draws, on average.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.next_u64().is_multiple_of(n)
    }

    /// True with probability `pct` / 100.
    pub fn percent(&mut self, pct: u64) -> bool {
        self.next_u64() % 100 < pct
    }

    /// True with probability `per_mille` / 1000, from the next number's 32 high bits.
    pub fn per_mille(&mut self, per_mille: u64) -> bool {
        (self.next_u64() >> 32) % 1000 < per_mille
    }

    /// An item of `items` (not empty), drawn with [`XorShift::below`].
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An item of `items` (not empty), drawn with [`XorShift::below_scaled`].
    pub fn pick_scaled<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below_scaled(items.len())]
    }
}

/// Whether `typed` is the activation key whose stored hash (`accounts.activation_key_hash`)
/// for `ecs_id` is `stored`: the crash tests check each published letter with it.
pub fn verify_key(typed: &str, ecs_id: &str, stored: &str) -> bool {
    crate::apply::keys::verify_key(typed, ecs_id, stored)
}
