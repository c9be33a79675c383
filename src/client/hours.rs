//! Business hours: `seg-sex 08:00-12:00 13:00-18:00; sáb 09:00-13:00`.
//!
//! The text is a list of groups separated by `;` (or `,`); each group is a day or a range
//! of days (`seg-sex`, `sex-seg` wraps the weekend, `todos` is every day) followed by one
//! or more time ranges. A range whose end is before its start crosses midnight and
//! belongs to its start day (`sex 22:00-02:00` is open early on Saturday). Parsing keeps
//! only what each day is open, so two texts meaning the same hours are equal, and
//! [`BusinessHours`]'s `Display` writes that meaning back in one normalized form.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{DateTime, Weekday};

use super::words;

/// Days in the order weeks are written, as indexes of [`DAYS`] (Monday first).
const WEEK: [usize; 7] = [1, 2, 3, 4, 5, 6, 0];

/// Each day's name as displayed, Sunday first.
const DAYS: [&str; 7] = ["dom", "seg", "ter", "qua", "qui", "sex", "sáb"];

/// Minutes in a day; `24:00` as an end.
const DAY: u16 = 24 * 60;

/// The day words, as the errors list them.
const DAY_NAMES: &str = "dom, seg, ter, qua, qui, sex, sáb ou todos";

/// What the errors show as a model.
const EXAMPLE: &str = "ex.: seg-sex 08:00-18:00; sáb 09:00-13:00";

/// When a business is open, for each day of the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// Per day, Sunday first, the ranges that start on that day, sorted.
    days: [Vec<Span>; 7],
}

/// One group read: its days (Sunday = 0) and its time ranges.
type Group = (Vec<usize>, Vec<Span>);

/// A time range in minutes after midnight; `end <= start` crosses midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    start: u16,
    end: u16,
}

/// Why a business-hours text is invalid; its `Display` is the pt-BR answer for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    /// Nothing was given.
    #[error("horário vazio; escreva os dias e as horas, {EXAMPLE}")]
    Empty,
    /// A word that is not a day or range of days.
    #[error("dia desconhecido \"{0}\"; use {DAY_NAMES}, {EXAMPLE}")]
    Day(String),
    /// A group with days but no time range.
    #[error("faltam as horas em \"{0}\"; depois dos dias escreva HH:MM-HH:MM, {EXAMPLE}")]
    NoTimes(String),
    /// A time range that cannot be read.
    #[error("horário inválido \"{0}\"; escreva HH:MM-HH:MM (00:00 a 24:00), {EXAMPLE}")]
    Time(String),
    /// A range that starts and ends at the same time.
    #[error(
        "\"{0}\" começa e termina na mesma hora; ex.: 08:00-18:00, ou 22:00-02:00 para \
         passar da meia-noite"
    )]
    Zero(String),
}

impl BusinessHours {
    /// Reads a business-hours text (see the module docs for the form).
    pub fn parse(text: &str) -> Result<BusinessHours, HoursError> {
        let mut days: [Vec<Span>; 7] = Default::default();
        let mut previous = Vec::new();
        for group in text.split([';', ',']).map(str::trim) {
            if group.is_empty() {
                continue;
            }
            let (open_days, spans) = parse_group(group, &previous)?;
            for day in &open_days {
                days[*day].extend(&spans);
            }
            previous = open_days;
        }

        if days.iter().all(Vec::is_empty) {
            return Err(HoursError::Empty);
        }
        Ok(BusinessHours {
            days: days.map(merge),
        })
    }

    /// Whether the business is open at `at`, a time in the tenant's own time zone.
    pub fn is_open(&self, at: DateTime) -> bool {
        let today = day_index(at.weekday());
        let yesterday = (today + 6) % 7;
        let minute = at.hour() as u16 * 60 + at.minute() as u16;
        let open_today = self.days[today]
            .iter()
            .any(|span| span.covers_today(minute));
        open_today
            || self.days[yesterday]
                .iter()
                .any(|span| span.covers_next_day(minute))
    }

    /// Whether every day has the same hours (written `todos`).
    fn is_every_day(&self) -> bool {
        self.days.iter().all(|d| *d == self.days[0])
    }

    /// The groups of the normalized form: runs of neighbouring open days with the same
    /// hours, as (first day, last day).
    fn groups(&self) -> Vec<(usize, usize)> {
        // Start at the first day (Monday first) whose hours differ from the day before,
        // so a run across the weekend (`sex-seg`) stays whole.
        let differs = |day: usize| self.days[day] != self.days[(day + 6) % 7];
        let first = WEEK.iter().position(|day| differs(*day)).unwrap_or(0);
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for step in 0..7 {
            let day = WEEK[(first + step) % 7];
            match runs.last_mut() {
                Some((_, last)) if step > 0 && !differs(day) => *last = day,
                _ => runs.push((day, day)),
            }
        }
        runs.retain(|(day, _)| !self.days[*day].is_empty());
        runs
    }

    /// Writes the ranges of `day`, each after a space.
    fn write_spans(&self, f: &mut fmt::Formatter<'_>, day: usize) -> fmt::Result {
        self.days[day]
            .iter()
            .try_for_each(|span| write!(f, " {span}"))
    }
}

/// The ranges sorted, with same-day ranges that touch or overlap joined into one.
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut merged: Vec<Span> = Vec::new();
    for span in spans {
        match merged.last_mut() {
            Some(last) if *last == span => {}
            Some(last) if last.joins(span) => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    merged
}

/// The days and time ranges of one group, like `seg-sex 08:00-12:00 13:00-18:00`; a
/// group of times only (`seg 08:00-12:00, 13:00-18:00`) continues the days before it.
fn parse_group(group: &str, previous: &[usize]) -> Result<Group, HoursError> {
    let group = tidy(group);
    let mut tokens = group.split(' ');
    let times_only = group.starts_with(|c: char| c.is_ascii_digit());
    let days = match times_only && !previous.is_empty() {
        true => previous.to_vec(),
        false => parse_days(tokens.next().unwrap_or_default())?,
    };

    let spans = tokens.map(parse_span).collect::<Result<Vec<_>, _>>()?;
    if spans.is_empty() {
        return Err(HoursError::NoTimes(group));
    }
    Ok((days, spans))
}

/// The group with single spaces, plain dashes without spaces around them, the words
/// `a`/`às`/`até` read as dashes, and no colon after the days
/// (`seg a sex: 8:00 às 18:00` → `seg-sex 8:00-18:00`).
fn tidy(group: &str) -> String {
    let dash = |word: &str| matches!(words::fold(word).as_str(), "a" | "as" | "ate");
    let spaced = group
        .replace(['–', '—'], "-")
        .split_whitespace()
        .map(|word| if dash(word) { "-" } else { word })
        .collect::<Vec<_>>()
        .join(" ");
    let tight = spaced.replace(" -", "-").replace("- ", "-");
    match tight.split_once(": ") {
        Some((days, times)) if !days.contains(' ') => format!("{days} {times}"),
        _ => tight,
    }
}

/// The days of `token`: one day, a range of days (wrapping if needed) or `todos`.
fn parse_days(token: &str) -> Result<Vec<usize>, HoursError> {
    let folded = words::fold(token).replace("-feira", "");
    if folded == "todos" {
        return Ok((0..7).collect());
    }
    let unknown = || HoursError::Day(token.to_owned());
    let (first, last) = match folded.split_once('-') {
        Some((first, last)) => (day(first), day(last)),
        None => (day(&folded), day(&folded)),
    };
    let (first, last) = first.zip(last).ok_or_else(unknown)?;
    let count = (last + 7 - first) % 7 + 1;
    Ok((0..count).map(|step| (first + step) % 7).collect())
}

/// The index (Sunday = 0) of a folded day name, short or full.
fn day(name: &str) -> Option<usize> {
    const FULL: [&str; 7] = [
        "domingo", "segunda", "terca", "quarta", "quinta", "sexta", "sabado",
    ];
    let short = |d: &str| words::fold(d) == name;
    DAYS.iter()
        .position(|d| short(d))
        .or_else(|| FULL.iter().position(|d| *d == name))
}

/// A time range `HH:MM-HH:MM`.
fn parse_span(token: &str) -> Result<Span, HoursError> {
    let bad = || HoursError::Time(token.to_owned());
    let (start, end) = token.split_once('-').ok_or_else(bad)?;
    let start = parse_time(start).filter(|t| *t < DAY).ok_or_else(bad)?;
    let end = parse_time(end).ok_or_else(bad)?;
    if start == end {
        return Err(HoursError::Zero(token.to_owned()));
    }
    Ok(Span { start, end })
}

/// Minutes after midnight of `HH:MM`, `H:MM`, `8h30` or `8h`, up to `24:00`.
fn parse_time(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once([':', 'h'])?;
    let minutes = match minutes {
        "" if text.ends_with('h') => "00",
        _ => minutes,
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let shape_ok = (1..=2).contains(&hours.len()) && minutes.len() == 2;
    if !shape_ok || !digits(hours) || !digits(minutes) {
        return None;
    }
    let (hours, minutes) = (hours.parse::<u16>().ok()?, minutes.parse::<u16>().ok()?);
    let time = hours * 60 + minutes;
    (minutes < 60 && time <= DAY).then_some(time)
}

/// The index of a weekday in [`DAYS`].
fn day_index(weekday: Weekday) -> usize {
    weekday.to_sunday_zero_offset() as usize
}

impl Span {
    /// Whether the range crosses midnight into the next day.
    fn is_overnight(self) -> bool {
        self.end < self.start
    }

    /// Whether `next`, starting no earlier, touches or overlaps this same-day range.
    fn joins(self, next: Span) -> bool {
        !self.is_overnight() && !next.is_overnight() && next.start <= self.end
    }

    /// Whether `minute` of the range's own day is inside it.
    fn covers_today(self, minute: u16) -> bool {
        minute >= self.start && (self.is_overnight() || minute < self.end)
    }

    /// Whether `minute` of the next day is inside it.
    fn covers_next_day(self, minute: u16) -> bool {
        self.is_overnight() && minute < self.end
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hhmm = |t: u16| format!("{:02}:{:02}", t / 60, t % 60);
        write!(f, "{}-{}", hhmm(self.start), hhmm(self.end))
    }
}

impl fmt::Display for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_every_day() {
            f.write_str("todos")?;
            return self.write_spans(f, 0);
        }
        for (i, (first, last)) in self.groups().into_iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if first == last {
                f.write_str(DAYS[first])?;
            } else {
                write!(f, "{}-{}", DAYS[first], DAYS[last])?;
            }
            self.write_spans(f, first)?;
        }
        Ok(())
    }
}

impl FromStr for BusinessHours {
    type Err = HoursError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(text: &str) -> BusinessHours {
        BusinessHours::parse(text).unwrap()
    }

    /// 2026-12-07 is a Monday; `day` 0 is that Monday, 6 the Sunday after.
    fn at(day: i8, hh: i8, mm: i8) -> DateTime {
        jiff::civil::date(2026, 12, 7 + day).at(hh, mm, 0, 0)
    }

    fn err(text: &str) -> String {
        BusinessHours::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn weekdays_one_range() {
        let h = hours("seg-sex 08:00-18:00");
        assert!(h.is_open(at(0, 8, 0)) && h.is_open(at(4, 17, 59)));
        assert!(!h.is_open(at(0, 7, 59)) && !h.is_open(at(0, 18, 0)));
        assert!(!h.is_open(at(5, 10, 0)) && !h.is_open(at(6, 10, 0)));
        assert_eq!(h.to_string(), "seg-sex 08:00-18:00");
    }

    #[test]
    fn lunch_break_and_saturday() {
        let h = hours("seg-sex 08:00-12:00 13:00-18:00; sab 09:00-13:00");
        assert!(h.is_open(at(2, 11, 59)) && !h.is_open(at(2, 12, 30)));
        assert!(h.is_open(at(2, 13, 0)) && h.is_open(at(5, 9, 0)));
        assert!(!h.is_open(at(5, 13, 0)) && !h.is_open(at(6, 10, 0)));
        assert_eq!(
            h.to_string(),
            "seg-sex 08:00-12:00 13:00-18:00; sáb 09:00-13:00"
        );
    }

    #[test]
    fn every_day_and_sunday_only() {
        let every = hours("todos 09:00-21:00");
        let until_nine = |d| every.is_open(at(d, 20, 59)) && !every.is_open(at(d, 21, 0));
        assert!((0..7).all(until_nine));
        assert_eq!(every.to_string(), "todos 09:00-21:00");
        assert_eq!(hours("seg-dom 09:00-21:00"), every);
        let sunday = hours("dom 10:00-14:00");
        assert!(sunday.is_open(at(6, 10, 0)) && !sunday.is_open(at(0, 10, 0)));
        assert_eq!(sunday.to_string(), "dom 10:00-14:00");
    }

    #[test]
    fn day_names_in_many_spellings() {
        let h = hours("seg-sex 08:00-18:00; sab 09:00-13:00");
        for text in [
            "SEG-SEX 08:00-18:00, SÁB 09:00-13:00",
            "segunda-sexta 08:00-18:00; sábado 09:00-13:00",
            "segunda-feira-sexta-feira 8:00-18:00; Sabado 9h-13h",
            "seg a sex: 08:00 às 18:00; sáb 09:00 – 13:00;",
            "seg-sex 08:00-12:00, 12:00-18:00; sab 09:00-13:00",
            "sex 08:00-18:00; sab 09:00-13:00; seg-qui 08h00-18h00",
        ] {
            assert_eq!(hours(text), h, "{text}");
        }
    }

    #[test]
    fn touching_and_overlapping_ranges_join() {
        assert_eq!(
            hours("seg 08:00-12:00 12:00-18:00"),
            hours("seg 08:00-18:00")
        );
        assert_eq!(
            hours("seg 10:00-14:00 08:00-12:00"),
            hours("seg 08:00-14:00")
        );
        assert_eq!(
            hours("seg 08:00-18:00; seg 09:00-10:00").to_string(),
            "seg 08:00-18:00"
        );
        let overnight = hours("sex 22:00-02:00 23:00-01:00");
        assert_eq!(overnight.to_string(), "sex 22:00-02:00 23:00-01:00");
    }

    #[test]
    fn overnight_ranges_belong_to_their_start_day() {
        let h = hours("sex-sab 22:00-02:00");
        assert!(h.is_open(at(4, 23, 0)) && h.is_open(at(5, 1, 59)));
        assert!(h.is_open(at(6, 1, 0)), "Saturday night runs into Sunday");
        assert!(!h.is_open(at(4, 1, 0)), "Thursday night is closed");
        assert!(!h.is_open(at(5, 2, 0)) && !h.is_open(at(4, 21, 59)));
        let late = hours("seg-sex 18:00-08:00");
        assert!(late.is_open(at(0, 20, 0)) && late.is_open(at(1, 7, 0)));
        assert!(!late.is_open(at(0, 7, 0)) && !late.is_open(at(1, 12, 0)));
    }

    #[test]
    fn midnight_as_an_end() {
        let h = hours("sab 18:00-24:00; dom 00:00-24:00");
        assert!(h.is_open(at(5, 23, 59)) && h.is_open(at(6, 0, 0)));
        assert!(h.is_open(at(6, 23, 59)));
        assert!(!h.is_open(at(0, 0, 0)));
        assert_eq!(h.to_string(), "sáb 18:00-24:00; dom 00:00-24:00");
    }

    #[test]
    fn day_ranges_wrap_around_the_week() {
        let h = hours("sex-seg 10:00-14:00");
        for day in [4, 5, 6, 0] {
            assert!(h.is_open(at(day, 10, 0)), "day {day}");
        }
        assert!(!h.is_open(at(1, 10, 0)) && !h.is_open(at(3, 10, 0)));
        assert_eq!(h.to_string(), "sex-seg 10:00-14:00");
    }

    #[test]
    fn display_parses_back_to_the_same_hours() {
        for text in [
            "seg-sex 08:00-18:00",
            "seg-sex 08:00-12:00 13:00-18:00; sab 09:00-13:00",
            "todos 09:00-21:00",
            "dom 10:00-14:00",
            "sex-seg 10:00-14:00; ter-qui 08:00-18:00",
            "seg 08:00-12:00; qua 08:00-12:00; sex 22:00-02:00",
            "seg-sex 13:00-18:00; seg-sex 08:00-12:00; seg 08:00-12:00",
            "qua 09:00-10:00; todos 12:00-13:00",
        ] {
            let h = hours(text);
            let shown = h.to_string();
            assert_eq!(hours(&shown), h, "{text} → {shown}");
            assert_eq!(hours(&shown).to_string(), shown);
        }
        assert_eq!(
            hours("seg-sex 8h-12h, 13h-18h; sab 9h-13h").to_string(),
            "seg-sex 08:00-12:00 13:00-18:00; sáb 09:00-13:00",
            "the example of docs/commands.md"
        );
        assert_eq!(
            hours("seg-sex 13:00-18:00; seg-sex 08:00-12:00").to_string(),
            "seg-sex 08:00-12:00 13:00-18:00"
        );
        assert_eq!(
            hours("sex-seg 10:00-14:00; ter-qui 08:00-18:00").to_string(),
            "ter-qui 08:00-18:00; sex-seg 10:00-14:00"
        );
    }

    #[test]
    fn errors_name_the_bad_part_and_show_an_example() {
        assert_eq!(
            err(" ; "),
            "horário vazio; escreva os dias e as horas, ex.: seg-sex 08:00-18:00; \
             sáb 09:00-13:00"
        );
        assert_eq!(
            err("sgu-sex 08:00-18:00"),
            "dia desconhecido \"sgu-sex\"; use dom, seg, ter, qua, qui, sex, sáb ou \
             todos, ex.: seg-sex 08:00-18:00; sáb 09:00-13:00"
        );
        assert_eq!(
            err("seg-sex"),
            "faltam as horas em \"seg-sex\"; depois dos dias escreva HH:MM-HH:MM, \
             ex.: seg-sex 08:00-18:00; sáb 09:00-13:00"
        );
        assert_eq!(
            err("seg 8-18"),
            "horário inválido \"8-18\"; escreva HH:MM-HH:MM (00:00 a 24:00), \
             ex.: seg-sex 08:00-18:00; sáb 09:00-13:00"
        );
        assert_eq!(
            err("seg 08:00-08:00"),
            "\"08:00-08:00\" começa e termina na mesma hora; ex.: 08:00-18:00, ou \
             22:00-02:00 para passar da meia-noite"
        );
        for bad in [
            "seg 24:00-02:00",
            "seg 08:60-09:00",
            "seg 25:00-26:00",
            "seg 08:00",
        ] {
            assert!(
                matches!(BusinessHours::parse(bad), Err(HoursError::Time(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            BusinessHours::parse("08:00-18:00"),
            Err(HoursError::Day(_))
        ));
    }
}
