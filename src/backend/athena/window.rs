//! The time window of an Athena query: `--since`/`--until` (RFC 3339 or relative like `24h`)
//! become a partition predicate Athena can prune with and a precise bound on the event time.

/// A point in time: seconds since the Unix epoch (UTC) plus a fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

impl Instant {
    /// Whole seconds, rounded up.
    pub fn ceil_secs(self) -> i64 {
        if self.nanos > 0 {
            self.secs.saturating_add(1)
        } else {
            self.secs
        }
    }
}

/// `(year, month, day)` of a day number (days since 1970-01-01), proleptic Gregorian.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days in month `m` of year `y` (proleptic Gregorian).
fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `2024-05-01T10:15:30Z` for whole seconds since the epoch.
pub fn iso(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// A run of ASCII digits as a number; `what` names it in messages.
fn parse_digits(s: &str, what: &str) -> Result<i64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("expected {what}, found '{s}'"));
    }
    s.parse()
        .map_err(|_| format!("{what} '{s}' is out of range"))
}

/// Parse RFC 3339 (`2026-11-01T00:00:00Z`, `2026-11-01T02:00:00.5+02:00`) or a date
/// (`2026-11-01`, midnight UTC).
pub fn parse_rfc3339(s: &str) -> Result<Instant, String> {
    let s = s.trim();
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let (Some(y), Some(mo), Some(d), None) = (dp.next(), dp.next(), dp.next(), dp.next()) else {
        return Err(format!("'{s}' is not a date (YYYY-MM-DD) or RFC 3339 time"));
    };
    if y.len() != 4 || mo.len() != 2 || d.len() != 2 {
        return Err(format!("'{s}' is not a date (YYYY-MM-DD) or RFC 3339 time"));
    }
    let y = parse_digits(y, "a year")?;
    let mo = u32::try_from(parse_digits(mo, "a month")?).unwrap_or(0);
    let d = u32::try_from(parse_digits(d, "a day")?).unwrap_or(0);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) {
        return Err(format!("'{s}' is not a valid date"));
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    let mut nanos = 0u32;
    if let Some(t) = time {
        let (clock, offset) = match t.find(['Z', 'z', '+', '-']) {
            Some(i) => (&t[..i], &t[i..]),
            None => return Err(format!("'{s}' has no time zone (add Z or +HH:MM)")),
        };
        let (hms, frac) = match clock.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (clock, None),
        };
        let mut tp = hms.split(':');
        let (Some(h), Some(mi), Some(sec), None) = (tp.next(), tp.next(), tp.next(), tp.next())
        else {
            return Err(format!("'{s}' has no HH:MM:SS time"));
        };
        let (h, mi, sec) = (
            parse_digits(h, "an hour")?,
            parse_digits(mi, "minutes")?,
            parse_digits(sec, "seconds")?,
        );
        if h > 23 || mi > 59 || sec > 60 {
            return Err(format!("'{s}' is not a valid time of day"));
        }
        secs += h * 3600 + mi * 60 + sec.min(59);
        if let Some(f) = frac {
            parse_digits(f, "a fraction of a second")?;
            let padded: String = f.chars().chain(std::iter::repeat('0')).take(9).collect();
            nanos = padded.parse().unwrap_or(0);
        }
        if !offset.eq_ignore_ascii_case("z") {
            let sign = if offset.starts_with('-') { 1 } else { -1 };
            let Some((oh, om)) = offset[1..].split_once(':') else {
                return Err(format!("'{s}' has a malformed offset (expected +HH:MM)"));
            };
            let (oh, om) = (
                parse_digits(oh, "offset hours")?,
                parse_digits(om, "offset minutes")?,
            );
            if oh > 23 || om > 59 {
                return Err(format!("'{s}' has an invalid offset"));
            }
            secs += sign * (oh * 3600 + om * 60);
        }
    }
    Ok(Instant { secs, nanos })
}

/// Parse a relative span (`90s`, `30m`, `24h`, `7d`, `2w`) into seconds.
fn parse_relative(s: &str) -> Option<Result<i64, String>> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let n = &s[..s.len() - unit.len_utf8()];
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    Some(
        n.parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(mult))
            .filter(|n| *n < 100 * 366 * 86_400)
            .ok_or_else(|| format!("'{s}' is too long a span")),
    )
}

/// A point given on the command line: RFC 3339, a date, or a span back from `now`.
pub fn parse_point(s: &str, now: Instant) -> Result<Instant, String> {
    match parse_relative(s) {
        Some(span) => Ok(Instant {
            secs: now.secs - span?,
            nanos: now.nanos,
        }),
        None => parse_rfc3339(s).map_err(|e| {
            format!(
                "{e}; expected RFC 3339 (2026-11-01T00:00:00Z), a date, or a span like 24h or 7d"
            )
        }),
    }
}

/// One end of a time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A fixed instant (RFC 3339 or a date on the command line): whole seconds since the epoch.
    At(i64),
    /// A span before the query's run time, in seconds (`--since 7d`): rendered from
    /// `current_timestamp`, so a saved query keeps meaning "the last 7 days".
    Ago(i64),
}

/// The day (days since the epoch) whose partition holds the second at `secs`: for an upper
/// (exclusive) bound, the day of the second before it, plus `lag` days of late delivery.
fn partition_day(secs: i64, upper: bool, lag: i64) -> i64 {
    if upper {
        (secs - 1).div_euclid(86_400) + lag
    } else {
        secs.div_euclid(86_400)
    }
}

impl Bound {
    /// The bound as a point on a common axis (`Ago` as negative offsets from an unknown now),
    /// for comparing two bounds of the same kind.
    fn key(self) -> (bool, i64) {
        match self {
            Bound::At(s) => (false, s),
            Bound::Ago(s) => (true, -s),
        }
    }
}

/// A time window, `since` inclusive, `until` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: Option<Bound>,
    pub until: Option<Bound>,
}

/// Parse one end: a span back from the run time, or a fixed instant (`ceil`: rounded up to
/// the second, for an exclusive end). With `now` (a fixed clock, for reproducible tests) a span
/// is resolved to an instant.
fn parse_bound(s: &str, now: Option<Instant>, ceil: bool) -> Result<Bound, String> {
    match (parse_relative(s), now) {
        (Some(span), None) => Ok(Bound::Ago(span?)),
        (Some(_), Some(now)) | (None, Some(now)) => {
            let i = parse_point(s, now)?;
            Ok(Bound::At(if ceil { i.ceil_secs() } else { i.secs }))
        }
        (None, None) => {
            let i = parse_point(s, Instant { secs: 0, nanos: 0 })?;
            Ok(Bound::At(if ceil { i.ceil_secs() } else { i.secs }))
        }
    }
}

impl Window {
    /// Resolve the options; `None` when neither bound is given.
    pub fn from_options(
        since: Option<&str>,
        until: Option<&str>,
        now: Option<&str>,
    ) -> Result<Option<Window>, String> {
        if since.is_none() && until.is_none() {
            return Ok(None);
        }
        let now = now
            .map(|n| parse_rfc3339(n).map_err(|e| format!("--now: {e}")))
            .transpose()?;
        let since = since
            .map(|s| parse_bound(s, now, false).map_err(|e| format!("--since: {e}")))
            .transpose()?;
        let until = until
            .map(|s| parse_bound(s, now, true).map_err(|e| format!("--until: {e}")))
            .transpose()?;
        if let (Some(a), Some(b)) = (since, until) {
            let (ka, kb) = (a.key(), b.key());
            if ka.0 == kb.0 && ka.1 >= kb.1 {
                let show = |b: Bound| match b {
                    Bound::At(s) => iso(s),
                    Bound::Ago(s) => format!("{s} s before the run"),
                };
                return Err(format!(
                    "--since ({}) is not before --until ({})",
                    show(a),
                    show(b)
                ));
            }
        }
        Ok(Some(Window { since, until }))
    }
}

/// `current_timestamp - INTERVAL 'n' UNIT` for a span of seconds, in the largest unit that
/// divides it, plus `extra_days` days.
pub fn ago(secs: i64, extra_days: i64) -> String {
    let (n, unit) = [(86_400, "DAY"), (3_600, "HOUR"), (60, "MINUTE")]
        .into_iter()
        .find(|(u, _)| secs % u == 0)
        .map_or((secs, "SECOND"), |(u, name)| (secs / u, name));
    let mut e = format!("current_timestamp - INTERVAL '{n}' {unit}");
    if extra_days > 0 {
        e.push_str(&format!(" + INTERVAL '{extra_days}' DAY"));
    }
    e
}

/// A relative bound's day as partition text: `date_format(<ago> AT TIME ZONE 'UTC', fmt)`.
fn day_of(secs: i64, extra_days: i64, fmt: &str) -> String {
    format!(
        "date_format(({}) AT TIME ZONE 'UTC', '{fmt}')",
        ago(secs, extra_days)
    )
}

/// A partition value (a date: digits, maybe with slashes; never a quote) as an SQL string literal.
fn quote(s: &str) -> String {
    format!("'{s}'")
}

/// `col >= a`, `col <= b`, or `col BETWEEN a AND b` (a and b are SQL: literals or
/// expressions).
fn range(col: &str, lo: Option<String>, hi: Option<String>) -> Option<String> {
    match (lo, hi) {
        (Some(a), Some(b)) if a == b => Some(format!("{col} = {a}")),
        (Some(a), Some(b)) => Some(format!("{col} BETWEEN {a} AND {b}")),
        (Some(a), None) => Some(format!("{col} >= {a}")),
        (None, Some(b)) => Some(format!("{col} <= {b}")),
        (None, None) => None,
    }
}

/// The partition predicate for a `year`/`month`/`day` layout (zero-padded strings): an OR of
/// plain comparisons on the partition columns, which Athena prunes with.
fn ymd(first: Option<i64>, last: Option<i64>) -> Option<String> {
    let part = |d: i64| {
        let (y, m, dd) = civil_from_days(d);
        (format!("{y:04}"), format!("{m:02}"), format!("{dd:02}"))
    };
    let mut groups: Vec<String> = Vec::new();
    match (first.map(part), last.map(part)) {
        (None, None) => return None,
        (Some((y1, m1, d1)), None) => {
            groups.push(format!(
                "(year = '{y1}' AND month = '{m1}' AND day >= '{d1}')"
            ));
            groups.push(format!("(year = '{y1}' AND month > '{m1}')"));
            groups.push(format!("year > '{y1}'"));
        }
        (None, Some((y2, m2, d2))) => {
            groups.push(format!("year < '{y2}'"));
            groups.push(format!("(year = '{y2}' AND month < '{m2}')"));
            groups.push(format!(
                "(year = '{y2}' AND month = '{m2}' AND day <= '{d2}')"
            ));
        }
        (Some((y1, m1, d1)), Some((y2, m2, d2))) => {
            if (&y1, &m1) == (&y2, &m2) {
                let days = range("day", Some(quote(&d1)), Some(quote(&d2))).unwrap_or_default();
                return Some(format!("year = '{y1}' AND month = '{m1}' AND {days}"));
            }
            groups.push(format!(
                "(year = '{y1}' AND month = '{m1}' AND day >= '{d1}')"
            ));
            if y1 == y2 {
                if let (Ok(a), Ok(b)) = (m1.parse::<u32>(), m2.parse::<u32>()) {
                    if b > a + 1 {
                        groups.push(format!(
                            "(year = '{y1}' AND month > '{m1}' AND month < '{m2}')"
                        ));
                    }
                }
            } else {
                if m1 != "12" {
                    groups.push(format!("(year = '{y1}' AND month > '{m1}')"));
                }
                if let (Ok(a), Ok(b)) = (y1.parse::<i64>(), y2.parse::<i64>()) {
                    if b > a + 1 {
                        groups.push(format!("(year > '{y1}' AND year < '{y2}')"));
                    }
                }
                if m2 != "01" {
                    groups.push(format!("(year = '{y2}' AND month < '{m2}')"));
                }
            }
            groups.push(format!(
                "(year = '{y2}' AND month = '{m2}' AND day <= '{d2}')"
            ));
        }
    }
    Some(format!("({})", groups.join(" OR ")))
}

/// The partition predicate for `layout`, or None when it has none. Partition columns are
/// compared as they are, never wrapped in a function, so Athena prunes with them; a relative
/// bound compares them with a `date_format` of `current_timestamp`, which the engine computes
/// once when it plans the query.
pub fn partition_predicate(layout: &str, w: &Window, lag: i64) -> Result<Option<String>, String> {
    let day_text = |fmt: &str, b: Option<Bound>, upper: bool| {
        b.map(|b| match b {
            Bound::At(secs) => {
                let (y, m, dd) = civil_from_days(partition_day(secs, upper, lag));
                quote(&match fmt {
                    "%Y/%m/%d" => format!("{y:04}/{m:02}/{dd:02}"),
                    _ => format!("{y:04}{m:02}{dd:02}"),
                })
            }
            Bound::Ago(span) => day_of(span, if upper { lag } else { 0 }, fmt),
        })
    };
    Ok(match layout {
        "projection" => range(
            "\"timestamp\"",
            day_text("%Y/%m/%d", w.since, false),
            day_text("%Y/%m/%d", w.until, true),
        ),
        "eventday" => range(
            "eventday",
            day_text("%Y%m%d", w.since, false),
            day_text("%Y%m%d", w.until, true),
        ),
        "ymd" => match (w.since, w.until) {
            (Some(Bound::Ago(_)), _) | (_, Some(Bound::Ago(_))) => ymd_relative(w, lag),
            _ => {
                let at = |b: Option<Bound>, upper: bool| match b {
                    Some(Bound::At(s)) => Some(partition_day(s, upper, lag)),
                    _ => None,
                };
                ymd(at(w.since, false), at(w.until, true))
            }
        },
        "none" => None,
        other => return Err(format!("unknown partition layout '{other}'")),
    })
}

/// The `year`/`month`/`day` predicate of a window with a relative end: the year compared as
/// it is (that alone prunes every other year), then the day as `year/month/day` text.
fn ymd_relative(w: &Window, lag: i64) -> Option<String> {
    let mut parts = Vec::new();
    let ymd_text = "concat(year, '/', month, '/', day)";
    let mut end = |b: Bound, upper: bool| {
        let (year, day) = match b {
            Bound::At(secs) => {
                let (y, m, dd) = civil_from_days(partition_day(secs, upper, lag));
                (
                    quote(&format!("{y:04}")),
                    quote(&format!("{y:04}/{m:02}/{dd:02}")),
                )
            }
            Bound::Ago(span) => {
                let extra = if upper { lag } else { 0 };
                (day_of(span, extra, "%Y"), day_of(span, extra, "%Y/%m/%d"))
            }
        };
        let op = if upper { "<=" } else { ">=" };
        parts.push(format!("year {op} {year}"));
        parts.push(format!("{ymd_text} {op} {day}"));
    };
    if let Some(b) = w.since {
        end(b, false);
    }
    if let Some(b) = w.until {
        end(b, true);
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for d in [-800_000, -1, 0, 59, 11_016, 19_844, 20_000, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(iso(1_714_558_530), "2024-05-01T10:15:30Z");
    }

    #[test]
    fn points() {
        let now = parse_rfc3339("2026-11-22T07:30:00Z").unwrap();
        assert_eq!(
            iso(parse_point("24h", now).unwrap().secs),
            "2026-11-21T07:30:00Z"
        );
        assert_eq!(
            iso(parse_point("7d", now).unwrap().secs),
            "2026-11-15T07:30:00Z"
        );
        assert_eq!(
            iso(parse_point("2026-11-01T02:00:00+02:00", now).unwrap().secs),
            "2026-11-01T00:00:00Z"
        );
        assert_eq!(
            iso(parse_point("2026-11-01", now).unwrap().secs),
            "2026-11-01T00:00:00Z"
        );
        let frac = parse_point("2026-11-01T00:00:00.25Z", now).unwrap();
        assert_eq!((frac.nanos, frac.ceil_secs() - frac.secs), (250_000_000, 1));
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-30",
            "2026-11-01T00:00:00",
            "24x",
            "-1d",
            "2026-11-01T25:00:00Z",
        ] {
            assert!(parse_point(bad, now).is_err(), "{bad}");
        }
    }

    /// A relative window stays relative: the query computes it from its run time, and the
    /// partition columns are compared as they are.
    #[test]
    fn relative_windows_follow_the_run_time() {
        let w = Window::from_options(Some("7d"), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(w.since, Some(Bound::Ago(7 * 86_400)));
        assert_eq!(
            partition_predicate("projection", &w, 1).unwrap().unwrap(),
            "\"timestamp\" >= date_format((current_timestamp - INTERVAL '7' DAY) AT TIME ZONE 'UTC', '%Y/%m/%d')"
        );
        let w = Window::from_options(Some("36h"), Some("90m"), None)
            .unwrap()
            .unwrap();
        assert_eq!(
            partition_predicate("eventday", &w, 0).unwrap().unwrap(),
            "eventday BETWEEN date_format((current_timestamp - INTERVAL '36' HOUR) AT TIME ZONE 'UTC', '%Y%m%d') \
             AND date_format((current_timestamp - INTERVAL '90' MINUTE) AT TIME ZONE 'UTC', '%Y%m%d')"
        );
        let ymd = partition_predicate("ymd", &w, 1).unwrap().unwrap();
        assert!(ymd.starts_with("year >= date_format((current_timestamp - INTERVAL '36' HOUR) AT TIME ZONE 'UTC', '%Y') AND concat(year, '/', month, '/', day) >= "), "{ymd}");
        assert!(ymd.contains("concat(year, '/', month, '/', day) <= date_format((current_timestamp - INTERVAL '90' MINUTE + INTERVAL '1' DAY) AT TIME ZONE 'UTC', '%Y/%m/%d')"), "{ymd}");
        // A relative start with a fixed end: both kinds in one predicate.
        let w = Window::from_options(Some("30d"), Some("2026-11-22T00:00:00Z"), None)
            .unwrap()
            .unwrap();
        assert_eq!(
            partition_predicate("projection", &w, 1).unwrap().unwrap(),
            "\"timestamp\" BETWEEN date_format((current_timestamp - INTERVAL '30' DAY) AT TIME ZONE 'UTC', '%Y/%m/%d') AND '2026/11/22'"
        );
        assert_eq!(ago(90, 0), "current_timestamp - INTERVAL '90' SECOND");
        assert!(Window::from_options(Some("1d"), Some("2d"), None).is_err());
        assert!(Window::from_options(Some("2d"), Some("1d"), None).is_ok());
    }

    #[test]
    fn windows() {
        let w = Window::from_options(Some("2d"), None, Some("2026-11-22T12:00:00Z"))
            .unwrap()
            .unwrap();
        assert_eq!(
            partition_predicate("projection", &w, 1).unwrap().unwrap(),
            "\"timestamp\" >= '2026/11/20'"
        );
        let w = Window::from_options(
            Some("2026-11-20T00:00:00Z"),
            Some("2026-11-22T00:00:00Z"),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            partition_predicate("projection", &w, 1).unwrap().unwrap(),
            "\"timestamp\" BETWEEN '2026/11/20' AND '2026/11/22'"
        );
        assert_eq!(
            partition_predicate("eventday", &w, 0).unwrap().unwrap(),
            "eventday BETWEEN '20261120' AND '20261121'"
        );
        assert_eq!(
            partition_predicate("ymd", &w, 1).unwrap().unwrap(),
            "year = '2026' AND month = '11' AND day BETWEEN '20' AND '22'"
        );
        let w = Window::from_options(
            Some("2025-12-30T00:00:00Z"),
            Some("2026-03-02T00:00:00Z"),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            partition_predicate("ymd", &w, 1).unwrap().unwrap(),
            "((year = '2025' AND month = '12' AND day >= '30') OR (year = '2026' AND month < '03') \
             OR (year = '2026' AND month = '03' AND day <= '02'))"
        );
        assert!(Window::from_options(Some("1d"), Some("2d"), None).is_err());
        assert_eq!(Window::from_options(None, None, None), Ok(None));
    }
}
