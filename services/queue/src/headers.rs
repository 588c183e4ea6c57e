//! Message headers: ours (`x-radraft-*`) and those the broker adds, read leniently because
//! the broker and other clients choose their own integer widths.

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable};

/// Our attempt number: 1 for a fresh message, incremented by each retry.
pub(crate) const ATTEMPT: &str = "x-radraft-attempt";
/// Set on a message sent back to work from the dead-letter queue by an operator: the
/// worker may then replace the version's recorded failure with a new attempt.
pub(crate) const REPLAY: &str = "x-radraft-replay";
/// Why we dead-lettered a message: a short technical string, never patient data.
pub(crate) const FAILURE: &str = "x-radraft-failure";
/// Quorum queues count returns (nacks with requeue, channels closed with it unacked).
pub(crate) const DELIVERY_COUNT: &str = "x-delivery-count";
/// The broker's record of its own dead-lettering, most recent first.
const DEATH: &str = "x-death";
const FIRST_DEATH_REASON: &str = "x-first-death-reason";

pub(crate) fn get<'a>(properties: &'a BasicProperties, name: &str) -> Option<&'a AMQPValue> {
    properties.headers().as_ref()?.inner().get(name)
}

/// An integer header as `u32`, saturating; `None` when absent, negative or not an integer.
pub(crate) fn u32_value(value: &AMQPValue) -> Option<u32> {
    let wide: i128 = match value {
        AMQPValue::ShortShortInt(v) => (*v).into(),
        AMQPValue::ShortShortUInt(v) => (*v).into(),
        AMQPValue::ShortInt(v) => (*v).into(),
        AMQPValue::ShortUInt(v) => (*v).into(),
        AMQPValue::LongInt(v) => (*v).into(),
        AMQPValue::LongUInt(v) => (*v).into(),
        AMQPValue::LongLongInt(v) => (*v).into(),
        AMQPValue::Timestamp(v) => (*v).into(),
        _ => return None,
    };
    (wide >= 0).then(|| u32::try_from(wide).unwrap_or(u32::MAX))
}

pub(crate) fn u32_header(properties: &BasicProperties, name: &str) -> Option<u32> {
    get(properties, name).and_then(u32_value)
}

pub(crate) fn string_value(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

pub(crate) fn string_header(properties: &BasicProperties, name: &str) -> Option<String> {
    get(properties, name).and_then(string_value)
}

/// The reason of the broker's most recent dead-lettering (`delivery_limit`, `rejected`,
/// `expired`, `maxlen`), from `x-death` or else `x-first-death-reason`.
pub(crate) fn death_reason(properties: &BasicProperties) -> Option<String> {
    let latest = match get(properties, DEATH) {
        Some(AMQPValue::FieldArray(deaths)) => deaths.as_slice().first(),
        _ => None,
    };
    let from_death = match latest {
        Some(AMQPValue::FieldTable(death)) => death.inner().get("reason").and_then(string_value),
        _ => None,
    };
    from_death.or_else(|| string_header(properties, FIRST_DEATH_REASON))
}

/// `properties` with our attempt (and failure reason, when given) set, every other header
/// kept.
pub(crate) fn with_radraft_headers(
    properties: BasicProperties,
    attempt: u32,
    failure: Option<&str>,
) -> BasicProperties {
    let mut headers = properties.headers().clone().unwrap_or_default();
    headers.insert(ATTEMPT.into(), AMQPValue::LongUInt(attempt));
    if let Some(reason) = failure {
        headers.insert(FAILURE.into(), AMQPValue::LongString(reason.into()));
    }
    properties.with_headers(headers)
}

/// A header table holding only our attempt number: a message going back to work starts
/// clean, without the broker's `x-death` (which would make the broker see a dead-letter
/// cycle and drop it) or an earlier failure reason.
/// Headers of a replayed message: attempt 1 and the replay mark.
pub(crate) fn replayed() -> FieldTable {
    let mut headers = attempt_only(1);
    headers.insert(REPLAY.into(), AMQPValue::Boolean(true));
    headers
}

pub(crate) fn attempt_only(attempt: u32) -> FieldTable {
    let mut headers = FieldTable::default();
    headers.insert(ATTEMPT.into(), AMQPValue::LongUInt(attempt));
    headers
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use lapin::types::FieldArray;

    #[test]
    fn integer_headers_of_any_width_read_as_u32() {
        assert_eq!(u32_value(&AMQPValue::LongLongInt(3)), Some(3));
        assert_eq!(u32_value(&AMQPValue::ShortShortUInt(2)), Some(2));
        assert_eq!(u32_value(&AMQPValue::LongInt(-1)), None);
        assert_eq!(u32_value(&AMQPValue::LongLongInt(1 << 40)), Some(u32::MAX));
        assert_eq!(u32_value(&AMQPValue::LongString("7".into())), None);
    }

    #[test]
    fn death_reason_is_the_most_recent_x_death_entry() {
        let mut latest = FieldTable::default();
        latest.insert("reason".into(), AMQPValue::LongString("rejected".into()));
        let mut earlier = FieldTable::default();
        earlier.insert("reason".into(), AMQPValue::LongString("expired".into()));
        let deaths = FieldArray::from(vec![
            AMQPValue::FieldTable(latest),
            AMQPValue::FieldTable(earlier),
        ]);
        let mut headers = FieldTable::default();
        headers.insert(DEATH.into(), AMQPValue::FieldArray(deaths));
        let properties = BasicProperties::default().with_headers(headers);
        assert_eq!(death_reason(&properties).unwrap(), "rejected");
        assert_eq!(death_reason(&BasicProperties::default()), None);
    }

    #[test]
    fn radraft_headers_overwrite_ours_and_keep_others() {
        let mut headers = attempt_only(4);
        headers.insert("x-other".into(), AMQPValue::LongUInt(9));
        let properties = BasicProperties::default().with_headers(headers);
        let properties = with_radraft_headers(properties, 5, Some("decode"));
        assert_eq!(u32_header(&properties, ATTEMPT), Some(5));
        assert_eq!(u32_header(&properties, "x-other"), Some(9));
        assert_eq!(string_header(&properties, FAILURE).unwrap(), "decode");
    }
}
