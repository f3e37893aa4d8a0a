//! Japanese date parsing (interface; the full parser lands with the jpdate helper).

use chrono::NaiveDate;

/// How a date was written; a mapping profile may restrict which styles a column accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DateStyle {
    /// 2026-04-01, 2026/4/1, 2026.4.1, 20260401, 2026年4月1日
    Western,
    /// 令和8年4月1日, R8.4.1, ㋿8年4月1日, 令和元年5月1日
    Wareki,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedDate {
    pub date: NaiveDate,
    pub style: DateStyle,
    pub warning: Option<DateWarning>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateWarning {
    /// An era date past its era's end (平成31年5月1日): accepted as the western date.
    PastEraEnd { input: String, proper: String },
}

impl DateWarning {
    pub fn message_ja(&self) -> String {
        match self {
            DateWarning::PastEraEnd { input, proper } => {
                format!("「{input}」は元号の終了後の日付です。正しくは「{proper}」")
            }
        }
    }
    pub fn message_en(&self) -> String {
        match self {
            DateWarning::PastEraEnd { input, proper } => {
                format!("`{input}` is past the end of its era; the proper form is `{proper}`")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("not a date: `{0}`")]
    Unrecognized(String),
}

impl DateError {
    pub fn message_ja(&self) -> String {
        match self {
            DateError::Unrecognized(s) => format!("日付として読めません:「{s}」"),
        }
    }
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// Parses a date as written in Japanese registry exports.
pub fn parse_date(input: &str) -> Result<ParsedDate, DateError> {
    NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d")
        .map(|date| ParsedDate {
            date,
            style: DateStyle::Western,
            warning: None,
        })
        .map_err(|_| DateError::Unrecognized(input.to_string()))
}
