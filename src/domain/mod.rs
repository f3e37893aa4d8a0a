//! The pure core: no files, database, clock, environment or network. Everything comes in as
//! arguments (`as_of`, policy, records) and goes out as values.

pub mod account;
pub(crate) mod guard;
pub(crate) mod jpdate;
pub(crate) mod matching;
pub mod model;
pub(crate) mod notice;
pub mod plan;
pub mod policy;
pub mod rules;
pub(crate) mod schedule;
pub mod text;

/// Checks one vocabulary's stored names: serde reads each value's `as_str` back as that value
/// (so the name is the serde name: `rename_all` renames both ways), and so does `from_name`.
#[cfg(test)]
pub(crate) fn check_names<T>(
    all: &[T],
    as_str: fn(T) -> &'static str,
    from_name: fn(&str) -> Option<T>,
) where
    T: Copy + PartialEq + std::fmt::Debug + serde::de::DeserializeOwned,
{
    use serde::de::IntoDeserializer as _;
    use serde::de::value::{Error, StrDeserializer};
    for &v in all {
        let name = as_str(v);
        let de: StrDeserializer<'_, Error> = name.into_deserializer();
        assert_eq!(T::deserialize(de).ok(), Some(v), "serde name `{name}`");
        assert_eq!(from_name(name), Some(v), "from_name(`{name}`)");
    }
    assert_eq!(from_name(""), None);
}
