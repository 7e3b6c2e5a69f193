//! SMF's time formats (svcs.c, smf-reference.md §6.3), in local time.

use chrono::{DateTime, Local, TimeZone};
use smf_core::state::Timestamp;

/// Seconds in svcs' "less than a year" (12 × 30 days).
const ABOUT_A_YEAR: i64 = 31_104_000;

fn local(at: Timestamp) -> Option<DateTime<Local>> {
    let millis = i64::try_from(at.0).ok()?;
    Local.timestamp_millis_opt(millis).single()
}

/// The STIME column: ` 9:05:03` within a day, `Aug_09` within 12 × 30 days, else `2019`;
/// `-` for a time that cannot be shown. `now` is passed so a listing is consistent.
pub fn stime(at: Timestamp, now: Timestamp) -> String {
    let Some(when) = local(at) else {
        return "-".to_string();
    };
    let age =
        (i64::try_from(now.0).unwrap_or(i64::MAX) - i64::try_from(at.0).unwrap_or(i64::MAX)) / 1000;
    if age < 24 * 3600 {
        when.format("%k:%M:%S").to_string()
    } else if age < ABOUT_A_YEAR {
        when.format("%b_%d").to_string()
    } else {
        when.format("%Y").to_string()
    }
}

/// The long form of `svcs -l` and `svcs -x`: `Mon Feb 13 17:56:21 2006`.
pub fn long(at: Timestamp) -> String {
    local(at).map_or_else(
        || "-".to_string(),
        |when| when.format("%a %b %e %H:%M:%S %Y").to_string(),
    )
}

/// Now, as the engine counts time (milliseconds since the epoch).
pub fn now() -> Timestamp {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        });
    Timestamp(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stime_follows_svcs_rules() {
        // Local time: the test sets no zone, so compare shapes, not hours.
        let now = Timestamp(1_764_000_000_000);
        let recent = stime(Timestamp(now.0 - 3_600_000), now);
        assert_eq!(recent.len(), 8, "{recent:?}");
        assert_eq!(&recent[2..3], ":");
        let weeks = stime(Timestamp(now.0 - 20 * 86_400_000), now);
        assert_eq!(weeks.len(), 6, "{weeks:?}");
        assert_eq!(&weeks[3..4], "_");
        let old = stime(Timestamp(now.0 - 400 * 86_400_000), now);
        assert_eq!(old.len(), 4, "{old:?}");
        assert!(old.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn long_dates_look_like_ctime() {
        let text = long(Timestamp(1_139_849_781_000));
        assert_eq!(text.len(), "Mon Feb 13 17:56:21 2006".len(), "{text}");
        assert!(text.ends_with("2006"));
    }
}
