//! Date and time: `$now`, `$millis`, `$fromMillis`, `$toMillis`, with XPath F&O 9.8
//! picture strings (`[Y0001]-[M01]-[D01]`, names, ordinals, ISO weeks, time zones).

use super::picture::{self, Case, Grouping, IntegerFormat};
use super::{Call, arg};
use crate::Error;
use crate::value::Value;

type R<'a> = Result<Value<'a>, Error>;

const DAY: f64 = 86_400_000.0;
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 8] = [
    "",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const ISO_PICTURE: &str = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01].[f001][Z01:01t]";

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month 1-12, day) of a day number.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// JavaScript's `Date.UTC` (month 0-based, overflow normalised).
fn utc(y: f64, m0: f64, d: f64, h: f64, mi: f64, s: f64, ms: f64) -> f64 {
    let ym = y + (m0 / 12.0).floor();
    let mn = m0.rem_euclid(12.0);
    let days = days_from_civil(ym as i64, mn as i64 + 1, 1) as f64 + d - 1.0;
    days * DAY + h * 3_600_000.0 + mi * 60_000.0 + s * 1000.0 + ms
}

/// The UTC fields of a millisecond timestamp.
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    milli: i64,
    /// ISO weekday, Monday = 1 .. Sunday = 7.
    weekday: i64,
    millis: f64,
}

fn fields(millis: f64) -> Fields {
    let days = (millis / DAY).floor() as i64;
    let rem = (millis - days as f64 * DAY) as i64;
    let (year, month, day) = civil_from_days(days);
    let wd = (days + 4).rem_euclid(7);
    Fields {
        year,
        month,
        day,
        hour: rem / 3_600_000,
        minute: rem / 60_000 % 60,
        second: rem / 1000 % 60,
        milli: rem % 1000,
        weekday: if wd == 0 { 7 } else { wd },
        millis,
    }
}

/// Start of the first week of a year/month (the week with its first Thursday).
fn start_of_first_week(year: i64, month0: i64) -> f64 {
    let first = utc(year as f64, month0 as f64, 1.0, 0.0, 0.0, 0.0, 0.0);
    let f = fields(first);
    let dow = f.weekday;
    if dow > 4 {
        first + (8 - dow) as f64 * DAY
    } else {
        first - (dow - 1) as f64 * DAY
    }
}

fn next_month(y: i64, m: i64) -> (i64, i64) {
    if m == 11 { (y + 1, 0) } else { (y, m + 1) }
}

fn prev_month(y: i64, m: i64) -> (i64, i64) {
    if m == 0 { (y - 1, 11) } else { (y, m - 1) }
}

fn weeks(start: f64, end: f64) -> f64 {
    (end - start) / (DAY * 7.0) + 1.0
}

/// A component's value, as jsonata-js's `getDateTimeFragment`.
enum Frag {
    Num(i64),
    Text(String),
}

fn fragment(f: &Fields, component: char) -> Frag {
    let today = utc(
        f.year as f64,
        (f.month - 1) as f64,
        f.day as f64,
        0.0,
        0.0,
        0.0,
        0.0,
    );
    Frag::Num(match component {
        'Y' => f.year,
        'M' => f.month,
        'D' => f.day,
        'd' => ((today - utc(f.year as f64, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)) / DAY) as i64 + 1,
        'F' => f.weekday,
        'W' => {
            let mut week = weeks(start_of_first_week(f.year, 0), today);
            if week > 52.0 {
                if today >= start_of_first_week(f.year + 1, 0) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                week = weeks(start_of_first_week(f.year - 1, 0), today);
            }
            week.floor() as i64
        }
        'X' => {
            let start = start_of_first_week(f.year, 0);
            let end = start_of_first_week(f.year + 1, 0);
            if f.millis < start {
                f.year - 1
            } else if f.millis >= end {
                f.year + 1
            } else {
                f.year
            }
        }
        'w' => {
            let m0 = f.month - 1;
            let mut week = weeks(start_of_first_week(f.year, m0), today);
            if week > 4.0 {
                let (ny, nm) = next_month(f.year, m0);
                if today >= start_of_first_week(ny, nm) {
                    week = 1.0;
                }
            } else if week < 1.0 {
                let (py, pm) = prev_month(f.year, m0);
                week = weeks(start_of_first_week(py, pm), today);
            }
            week.floor() as i64
        }
        'x' => {
            let m0 = f.month - 1;
            let start = start_of_first_week(f.year, m0);
            let (ny, nm) = next_month(f.year, m0);
            let end = start_of_first_week(ny, nm);
            if f.millis < start {
                prev_month(f.year, m0).1 + 1
            } else if f.millis >= end {
                nm + 1
            } else {
                m0 + 1
            }
        }
        'H' => f.hour,
        'h' => {
            let h = f.hour % 12;
            if h == 0 { 12 } else { h }
        }
        'P' => return Frag::Text(if f.hour >= 12 { "pm" } else { "am" }.into()),
        'm' => f.minute,
        's' => f.second,
        'f' => f.milli,
        'C' | 'E' => return Frag::Text("ISO".into()),
        _ => 0,
    })
}

/// One marker of a date/time picture.
struct Marker {
    component: char,
    names: Option<Case>,
    width: (Option<usize>, Option<usize>),
    presentation2: Option<char>,
    format: Option<IntegerFormat>,
    /// Year truncation width (-1 = none).
    n: i64,
}

enum Part {
    Literal(String),
    Marker(Marker),
}

fn default_presentation(c: char) -> Option<&'static str> {
    Some(match c {
        'Y' | 'M' | 'D' | 'd' | 'W' | 'X' | 'w' | 'x' | 'H' | 'h' | 'f' => "1",
        'F' | 'P' | 'C' | 'E' => "n",
        'm' | 's' => "01",
        'Z' | 'z' => "01:01",
        _ => return None,
    })
}

fn analyse(picture: &str) -> Result<Vec<Part>, Error> {
    let chars: Vec<char> = picture.chars().collect();
    let mut parts = Vec::new();
    let literal = |start: usize, end: usize, parts: &mut Vec<Part>| {
        if end > start {
            let text: String = chars[start..end].iter().collect();
            parts.push(Part::Literal(text.replace("]]", "]")));
        }
    };
    let (mut start, mut pos) = (0, 0);
    while pos < chars.len() {
        if chars[pos] == '[' {
            if chars.get(pos + 1) == Some(&'[') {
                literal(start, pos, &mut parts);
                parts.push(Part::Literal("[".into()));
                pos += 2;
                start = pos;
                continue;
            }
            literal(start, pos, &mut parts);
            start = pos;
            let Some(close) = chars[start..]
                .iter()
                .position(|&c| c == ']')
                .map(|p| p + start)
            else {
                return Err(Error::new("D3135"));
            };
            pos = close;
            let marker: String = chars[start + 1..close]
                .iter()
                .filter(|c| !c.is_whitespace())
                .collect();
            let mchars: Vec<char> = marker.chars().collect();
            let component = mchars.first().copied().unwrap_or(' ');
            let mut width = (None, None);
            let pres_mod: String = match marker.rfind(',') {
                Some(comma) => {
                    let wm = &marker[comma + 1..];
                    let parse = |s: &str| {
                        if s == "*" || s.is_empty() {
                            None
                        } else {
                            s.parse::<usize>().ok()
                        }
                    };
                    width = match wm.find('-') {
                        None => (parse(wm), None),
                        Some(d) => (parse(&wm[..d]), parse(&wm[d + 1..])),
                    };
                    marker
                        .get(component.len_utf8()..comma)
                        .unwrap_or("")
                        .to_string()
                }
                None => marker.chars().skip(1).collect(),
            };
            let mut presentation2 = None;
            let presentation1: String = if pres_mod.chars().count() == 1 {
                pres_mod.clone()
            } else if pres_mod.chars().count() > 1 {
                let last = pres_mod.chars().last().unwrap_or(' ');
                if "atco".contains(last) {
                    presentation2 = Some(last);
                    pres_mod[..pres_mod.len() - 1].to_string()
                } else {
                    pres_mod.clone()
                }
            } else {
                match default_presentation(component) {
                    Some(p) => p.to_string(),
                    None => return Err(Error::new("D3132").with_value(&component.to_string())),
                }
            };
            let mut m = Marker {
                component,
                names: None,
                width,
                presentation2,
                format: None,
                n: -1,
            };
            let p1: Vec<char> = presentation1.chars().collect();
            if p1.first() == Some(&'n') {
                m.names = Some(Case::Lower);
            } else if p1.first() == Some(&'N') {
                m.names = Some(if p1.get(1) == Some(&'n') {
                    Case::Title
                } else {
                    Case::Upper
                });
            } else if "YMDdFWwXxHhmsf".contains(component) {
                let mut pattern = presentation1.clone();
                if let Some(p2) = presentation2 {
                    pattern.push(';');
                    pattern.push(p2);
                }
                let mut f = picture::analyse(&pattern)?;
                if let Some(min) = width.0
                    && f.mandatory < min
                {
                    f.mandatory = min;
                }
                if component == 'Y' {
                    if let Some(max) = width.1 {
                        m.n = max as i64;
                        f.mandatory = max;
                    } else {
                        let w = f.mandatory + f.optional;
                        if w >= 2 {
                            m.n = w as i64;
                        }
                    }
                }
                m.format = Some(f);
            }
            if component == 'Z' || component == 'z' {
                m.format = Some(picture::analyse(&presentation1)?);
            }
            if !"YMDdFWwXxHhmsfZzPCE".contains(component) {
                return Err(Error::new("D3132").with_value(&component.to_string()));
            }
            parts.push(Part::Marker(m));
            start = pos + 1;
        }
        pos += 1;
    }
    literal(start, pos, &mut parts);
    Ok(parts)
}

fn format_marker(
    f: &Fields,
    m: &Marker,
    offset_hours: i64,
    offset_minutes: i64,
) -> Result<String, Error> {
    let value = fragment(f, m.component);
    if "YMDdFWwXxHhmsf".contains(m.component) {
        let Frag::Num(mut v) = value else {
            return Ok(String::new());
        };
        if m.component == 'Y' && m.n != -1 {
            v %= 10i64.pow(m.n as u32);
        }
        if let Some(case) = m.names {
            let mut name = match m.component {
                'M' | 'x' => MONTHS
                    .get((v - 1) as usize)
                    .copied()
                    .unwrap_or("")
                    .to_string(),
                'F' => DAYS.get(v as usize).copied().unwrap_or("").to_string(),
                c => return Err(Error::new("D3133").with_value(&c.to_string())),
            };
            match case {
                Case::Upper => name = name.to_uppercase(),
                Case::Lower => name = name.to_lowercase(),
                Case::Title => {}
            }
            if let Some(max) = m.width.1 {
                name = name.chars().take(max).collect();
            }
            return Ok(name);
        }
        let f = m.format.as_ref().ok_or_else(|| Error::new("D3132"))?;
        return picture::format(v as f64, f);
    }
    match m.component {
        'Z' | 'z' => {
            let offset = offset_hours * 100 + offset_minutes;
            let f = m.format.as_ref().ok_or_else(|| Error::new("D3132"))?;
            let mut s = if matches!(f.grouping, Grouping::Regular(..)) {
                picture::format(offset as f64, f)?
            } else {
                match f.mandatory {
                    1 | 2 => {
                        let mut s = picture::format(offset_hours as f64, f)?;
                        if offset_minutes != 0 {
                            s.push(':');
                            s.push_str(&format!("{:02}", offset_minutes.abs()));
                        }
                        s
                    }
                    3 | 4 => picture::format(offset as f64, f)?,
                    n => return Err(Error::new("D3134").with_value(&n.to_string())),
                }
            };
            if offset >= 0 {
                s.insert(0, '+');
            }
            if m.component == 'z' {
                s.insert_str(0, "GMT");
            }
            if offset == 0 && m.presentation2 == Some('t') {
                s = "Z".into();
            }
            Ok(s)
        }
        'P' => match value {
            Frag::Text(t) if m.names == Some(Case::Upper) => Ok(t.to_uppercase()),
            Frag::Text(t) => Ok(t),
            Frag::Num(n) => Ok(n.to_string()),
        },
        _ => match value {
            Frag::Text(t) => Ok(t),
            Frag::Num(n) => Ok(n.to_string()),
        },
    }
}

/// Formats epoch millis with a picture (default ISO 8601) and `±HHMM` time zone.
pub(crate) fn format_millis(
    millis: f64,
    picture: Option<&str>,
    tz: Option<&str>,
) -> Result<String, Error> {
    let (mut oh, mut om) = (0i64, 0i64);
    if let Some(tz) = tz {
        let digits: String = tz
            .chars()
            .enumerate()
            .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
            .map(|(_, c)| c)
            .collect();
        let offset: i64 = digits.parse().unwrap_or(0);
        oh = offset.div_euclid(100);
        om = offset.rem_euclid(100);
        if offset < 0 && om != 0 {
            // JavaScript's `%` keeps the sign of the dividend; Math.floor rounds down.
            om = offset % 100;
            oh = (offset as f64 / 100.0).floor() as i64;
        }
    }
    let parts = analyse(picture.unwrap_or(ISO_PICTURE))?;
    let f = fields(millis + ((60 * oh + om) * 60_000) as f64);
    let mut out = String::new();
    for part in &parts {
        match part {
            Part::Literal(l) => out.push_str(l),
            Part::Marker(m) => out.push_str(&format_marker(&f, m, oh, om)?),
        }
    }
    Ok(out)
}

/// Parses the ISO 8601 forms `$toMillis` accepts without a picture.
pub(crate) fn parse_iso_millis(s: &str) -> Option<f64> {
    let re = regex::Regex::new(
        r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})?$",
    )
    .ok()?;
    let c = re.captures(s)?;
    let num = |i: usize, d: f64| c.get(i).map_or(d, |m| m.as_str().parse().unwrap_or(d));
    let frac = c.get(7).map_or(0.0, |m| {
        let t: String = m.as_str().chars().chain("000".chars()).take(3).collect();
        t.parse().unwrap_or(0.0)
    });
    let mut millis = utc(
        num(1, 1970.0),
        num(2, 1.0) - 1.0,
        num(3, 1.0),
        num(4, 0.0),
        num(5, 0.0),
        num(6, 0.0),
        frac,
    );
    if let Some(z) = c.get(8) {
        let z = z.as_str();
        if z != "Z" {
            let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
            let digits: String = z[1..].chars().filter(char::is_ascii_digit).collect();
            let h: f64 = digits[..2].parse().ok()?;
            let m: f64 = digits[2..].parse().ok()?;
            millis -= sign * (h * 60.0 + m) * 60_000.0;
        }
    }
    Some(millis)
}

fn escape_literal(s: &str) -> String {
    regex::escape(s)
}

/// Parses a timestamp with a picture (`$toMillis(ts, picture)`).
fn parse_with_picture(ts: &str, picture_text: &str, now: f64) -> Result<Option<f64>, Error> {
    let parts = analyse(picture_text)?;
    let mut regex_text = String::from("^");
    let mut comps: Vec<&Marker> = Vec::new();
    for part in &parts {
        match part {
            Part::Literal(l) => regex_text.push_str(&format!("({})", escape_literal(l))),
            Part::Marker(m) => {
                let r = if m.component == 'Z' || m.component == 'z' {
                    let sep = match m.format.as_ref().map(|f| &f.grouping) {
                        Some(Grouping::Regular(_, c)) => Some(*c),
                        _ => None,
                    };
                    let mut r = if m.component == 'z' {
                        "GMT".to_string()
                    } else {
                        String::new()
                    };
                    r.push_str("[-+][0-9]+");
                    if let Some(c) = sep {
                        r.push_str(&regex::escape(&c.to_string()));
                        r.push_str("[0-9]+");
                    }
                    r
                } else if let Some(f) = &m.format {
                    picture::regex_for(f)?
                } else {
                    if !"MxFP".contains(m.component) {
                        return Err(Error::new("D3133").with_value(&m.component.to_string()));
                    }
                    "[a-zA-Z]+".to_string()
                };
                regex_text.push_str(&format!("({r})"));
                comps.push(m);
            }
        }
    }
    regex_text.push('$');
    let re = regex::RegexBuilder::new(&regex_text)
        .case_insensitive(true)
        .build()
        .map_err(|_| Error::new("D3136"))?;
    let Some(caps) = re.captures(ts) else {
        return Ok(None);
    };
    let mut values: std::collections::HashMap<char, f64> = std::collections::HashMap::new();
    let mut marker_index = 0;
    for (index, part) in parts.iter().enumerate() {
        let text = caps.get(index + 1).map_or("", |m| m.as_str());
        let Part::Marker(_) = part else { continue };
        let m = comps[marker_index];
        marker_index += 1;
        let v = if m.component == 'Z' || m.component == 'z' {
            let t = if m.component == 'z' { &text[3..] } else { text };
            let sep = match m.format.as_ref().map(|f| &f.grouping) {
                Some(Grouping::Regular(_, c)) => Some(*c),
                _ => None,
            };
            let (h, mi) = match sep.and_then(|c| t.find(c)) {
                Some(i) => (
                    t[..i].parse::<f64>().unwrap_or(0.0),
                    t[i + 1..].parse::<f64>().unwrap_or(0.0),
                ),
                None => {
                    if t.len() - 1 <= 2 {
                        (t.parse::<f64>().unwrap_or(0.0), 0.0)
                    } else {
                        (
                            t[..3].parse::<f64>().unwrap_or(0.0),
                            t[3..].parse::<f64>().unwrap_or(0.0),
                        )
                    }
                }
            };
            h * 60.0 + if h < 0.0 { -mi } else { mi }
        } else if m.component == 'f' {
            // Fractional seconds: the first three digits are the milliseconds.
            let digits: String = text.chars().chain("000".chars()).take(3).collect();
            digits.parse::<f64>().unwrap_or(f64::NAN)
        } else if let Some(f) = &m.format {
            picture::parse(text, f)?
        } else {
            let lookup = |name: &str, idx: usize| {
                let key: String = match m.width.1 {
                    Some(w) => name.chars().take(w).collect(),
                    None => name.to_string(),
                };
                (key == text).then_some(idx as f64)
            };
            match m.component {
                'M' | 'x' => MONTHS
                    .iter()
                    .enumerate()
                    .find_map(|(i, n)| lookup(n, i + 1)),
                'F' => DAYS
                    .iter()
                    .enumerate()
                    .skip(1)
                    .find_map(|(i, n)| lookup(n, i)),
                _ => match text {
                    "am" | "AM" => Some(0.0),
                    "pm" | "PM" => Some(1.0),
                    _ => None,
                },
            }
            .unwrap_or(f64::NAN)
        };
        values.insert(m.component, v);
    }
    if values.is_empty() {
        return Ok(None);
    }
    let has = |c: char| values.contains_key(&c);
    let mask_of = |set: &str| {
        set.chars()
            .fold(0u32, |acc, c| (acc << 1) | u32::from(has(c)))
    };
    let is_type = |t: u32, mask: u32| (!t & mask) == 0 && (t & mask) != 0;
    let dmask = mask_of("YXMxWwdD");
    let date_a = is_type(161, dmask);
    let date_b = !date_a && is_type(130, dmask);
    let date_c = is_type(84, dmask);
    let date_d = !date_c && is_type(72, dmask);
    let tmask = mask_of("PHhmsf");
    let time_a = is_type(23, tmask);
    let time_b = !time_a && is_type(47, tmask);
    let date_comps = if date_b {
        "YD"
    } else if date_c {
        "XxwF"
    } else if date_d {
        "XWF"
    } else {
        "YMD"
    };
    let time_comps = if time_b { "Phmsf" } else { "Hmsf" };
    let now_fields = fields(now);
    let (mut started, mut ended) = (false, false);
    for c in date_comps.chars().chain(time_comps.chars()) {
        match values.entry(c) {
            std::collections::hash_map::Entry::Occupied(_) => {
                started = true;
                if ended {
                    return Err(Error::new("D3136"));
                }
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                if started {
                    slot.insert(if "MDd".contains(c) { 1.0 } else { 0.0 });
                    ended = true;
                } else {
                    slot.insert(match fragment(&now_fields, c) {
                        Frag::Num(n) => n as f64,
                        Frag::Text(t) => f64::from(t == "pm"),
                    });
                }
            }
        }
    }
    let get = |c: char| values.get(&c).copied().unwrap_or(0.0);
    let mut month = get('M');
    month = if month > 0.0 { month - 1.0 } else { 0.0 };
    let mut day = get('D');
    if date_b {
        let d = fields(utc(get('Y'), 0.0, 1.0, 0.0, 0.0, 0.0, 0.0) + (get('d') - 1.0) * DAY);
        month = (d.month - 1) as f64;
        day = d.day as f64;
    }
    if date_c || date_d {
        return Err(Error::new("D3136"));
    }
    let mut hour = get('H');
    if time_b {
        hour = if get('h') == 12.0 { 0.0 } else { get('h') };
        if get('P') == 1.0 {
            hour += 12.0;
        }
    }
    let mut millis = utc(get('Y'), month, day, hour, get('m'), get('s'), get('f'));
    let tz = values
        .get(&'Z')
        .or_else(|| values.get(&'z'))
        .copied()
        .unwrap_or(0.0);
    millis -= tz * 60_000.0;
    Ok(Some(millis))
}

pub(super) fn now<'a>(c: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let pic = arg(&args, 0);
    let tz = arg(&args, 1);
    Ok(Value::str(&format_millis(
        c.ctx.now_millis(),
        pic.as_str(),
        tz.as_str(),
    )?))
}

pub(super) fn millis<'a>(c: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Num(c.ctx.now_millis()))
}

pub(super) fn from_millis<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Num(m) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    let pic = arg(&args, 1);
    let tz = arg(&args, 2);
    Ok(Value::str(&format_millis(m, pic.as_str(), tz.as_str())?))
}

pub(super) fn to_millis<'a>(c: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    let Value::Str(ts) = arg(&args, 0) else {
        return Ok(Value::Undefined);
    };
    match arg(&args, 1) {
        Value::Str(pic) => {
            Ok(parse_with_picture(&ts, &pic, c.ctx.now_millis())?
                .map_or(Value::Undefined, Value::Num))
        }
        _ => match parse_iso_millis(&ts) {
            Some(m) => Ok(Value::Num(m)),
            None => Err(Error::new("D3110").with_value(&ts)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for d in [-800_000i64, -1, 0, 1, 10_957, 20_000, 2_932_896] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(
            format_millis(1_521_801_216_617.0, None, None).unwrap(),
            "2018-03-23T10:33:36.617Z"
        );
    }
}
