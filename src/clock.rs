//! Wall-clock helpers: everything is stored as Unix milliseconds in UTC.

/// Now, as Unix milliseconds.
pub fn now_ms() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0)
}

/// A stored time shown in the operator's time zone, as `dd/mm/aaaa HH:MM:SS`.
pub fn local_time(t_ms: u64, tz: &jiff::tz::TimeZone) -> String {
    let ms = i64::try_from(t_ms).unwrap_or(i64::MAX);
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts
            .to_zoned(tz.clone())
            .strftime("%d/%m/%Y %H:%M:%S")
            .to_string(),
        Err(_) => "?".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_sao_paulo_time() {
        let tz = jiff::tz::TimeZone::get("America/Sao_Paulo").unwrap();
        // 2026-12-04 15:00:00 UTC is 12:00 in São Paulo (UTC-3, no daylight saving).
        assert_eq!(local_time(1_796_396_400_000, &tz), "04/12/2026 12:00:00");
    }
}
