//! Packet timestamps.
//!
//! Every time in a record comes from a packet, never from a clock. A [`Ts`] keeps
//! the capture's precision (microseconds for classic pcap, nanoseconds for
//! nanosecond pcap and most pcapng) so that a record prints the time exactly as
//! the capture holds it: `2024-05-01T12:00:00.123456Z`.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A packet time: seconds and nanoseconds since the Unix epoch (UTC), and the
/// number of fractional digits the capture carries (0, 3, 6 or 9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ts {
    /// Seconds since 1970-01-01T00:00:00Z; negative before it.
    pub secs: i64,
    /// Nanoseconds within the second, `0..1_000_000_000`.
    pub nanos: u32,
    /// Fractional digits printed: 0, 3, 6 or 9.
    pub digits: u8,
}

impl PartialOrd for Ts {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ts {
    /// Orders by instant; precision does not take part.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }
}

/// 0000-01-01T00:00:00Z in seconds since the epoch: the first time whose
/// text has a four-digit year ([`Ts::prints_plainly`]).
pub const FIRST_PLAIN: i64 = -62_167_219_200;
/// 10000-01-01T00:00:00Z: the first time past four-digit years.
pub const END_PLAIN: i64 = 253_402_300_800;

impl Ts {
    /// A time with microsecond precision.
    pub fn from_micros(secs: i64, micros: u32) -> Ts {
        Ts::new(secs, micros.saturating_mul(1000), 6)
    }

    /// A time with nanosecond precision.
    pub fn from_nanos(secs: i64, nanos: u32) -> Ts {
        Ts::new(secs, nanos, 9)
    }

    /// A time with the given number of fractional digits; `nanos` past one
    /// second carry into `secs`.
    pub fn new(secs: i64, nanos: u32, digits: u8) -> Ts {
        let carry = i64::from(nanos / 1_000_000_000);
        Ts {
            secs: secs.saturating_add(carry),
            nanos: nanos % 1_000_000_000,
            digits: digits.min(9),
        }
    }

    /// Whether the text this time is written as (`Display`) is plain RFC
    /// 3339, `YYYY-MM-DDTHH:MM:SS[.f]Z`: a four-digit year and less than a
    /// second of nanoseconds (what [`Ts::new`] makes).
    pub fn prints_plainly(&self) -> bool {
        (FIRST_PLAIN..END_PLAIN).contains(&self.secs) && self.nanos < 1_000_000_000
    }

    /// The time [`Ts::parse`] reads back from this one's text, without
    /// writing it: cut to the digits it prints (the text round trip itself
    /// when the text is not plain, see [`Ts::prints_plainly`]).
    pub fn as_written(&self) -> Option<Ts> {
        if !self.prints_plainly() {
            return Ts::parse(&self.to_string());
        }
        let digits = self.digits.min(9);
        let unit = 10u32.pow(9 - u32::from(digits));
        Some(Ts {
            secs: self.secs,
            nanos: self.nanos / unit * unit,
            digits,
        })
    }

    /// Nanoseconds since the epoch, saturating.
    pub fn as_nanos(&self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// Whole seconds elapsed from `earlier` to `self` (0 when `earlier` is later).
    pub fn secs_since(&self, earlier: Ts) -> u64 {
        let d = self.as_nanos() - earlier.as_nanos();
        if d <= 0 {
            0
        } else {
            u64::try_from(d / 1_000_000_000).unwrap_or(u64::MAX)
        }
    }

    /// Nanoseconds elapsed from `earlier` to `self` (0 when `earlier` is later).
    pub fn nanos_since(&self, earlier: Ts) -> u64 {
        let d = self.as_nanos() - earlier.as_nanos();
        u64::try_from(d.max(0)).unwrap_or(u64::MAX)
    }

    /// Parses an RFC 3339 UTC time as written by [`Ts`]'s `Display`
    /// (`YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`). Other offsets are refused: records are UTC.
    pub fn parse(s: &str) -> Option<Ts> {
        match Ts::parse_prefix(s.as_bytes()) {
            Some((ts, len)) if len == s.len() => Some(ts),
            _ => Ts::parse_full(s),
        }
    }

    /// The time at the start of `b` in the one form [`Ts`]'s `Display`
    /// writes (`YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, a four-digit year), and
    /// the bytes it takes; `None` for anything else. It reads fixed
    /// positions without the general parser's per-field loops (that parser
    /// cost about 350 instructions a time, and every record carries one or
    /// two); where both read a time they read the same one (tests).
    pub fn parse_prefix(b: &[u8]) -> Option<(Ts, usize)> {
        let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T' | b't', h0, h1, b':', i0, i1, b':', s0, s1, rest @ ..] =
            b
        else {
            return None;
        };
        let d = |c: &u8| c.wrapping_sub(b'0');
        // Every digit at once: a byte that is no digit makes its value above 9.
        let (y0, y1, y2, y3) = (d(y0), d(y1), d(y2), d(y3));
        let (m0, m1, d0, d1) = (d(m0), d(m1), d(d0), d(d1));
        let (h0, h1, i0, i1, s0, s1) = (d(h0), d(h1), d(i0), d(i1), d(s0), d(s1));
        if y0
            .max(y1)
            .max(y2)
            .max(y3)
            .max(m0)
            .max(m1)
            .max(d0)
            .max(d1)
            .max(h0)
            .max(h1)
            .max(i0)
            .max(i1)
            .max(s0)
            .max(s1)
            > 9
        {
            return None;
        }
        let two = |a: u8, b: u8| u32::from(a) * 10 + u32::from(b);
        let year = i64::from(two(y0, y1) * 100 + two(y2, y3));
        let (month, day) = (two(m0, m1), two(d0, d1));
        let (hour, min, sec) = (two(h0, h1), two(i0, i1), two(s0, s1));
        if !in_range(month, day, hour, min, sec) {
            return None;
        }
        let (nanos, digits, len) = match rest {
            [b'Z', ..] => (0, 0, 20),
            [b'.', frac @ ..] => {
                let mut n: u32 = 0;
                let mut k = 0;
                // Nine digits at most (a tenth is no `Z`, so refused).
                for &c in frac.iter().take(9) {
                    let v = c.wrapping_sub(b'0');
                    if v > 9 {
                        break;
                    }
                    n = n * 10 + u32::from(v);
                    k += 1;
                }
                if !(1..=9).contains(&k) || frac.get(k) != Some(&b'Z') {
                    return None;
                }
                (n * 10u32.pow(9 - k as u32), k as u8, 21 + k)
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + i64::from(hour * 3600 + min * 60 + sec);
        Some((
            Ts {
                secs,
                nanos,
                digits,
            },
            len,
        ))
    }

    /// [`Ts::parse`] the general way, field by field.
    fn parse_full(s: &str) -> Option<Ts> {
        let b = s.as_bytes();
        if b.len() < 20 || *b.last()? != b'Z' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = b.get(r)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return None;
            }
            part.iter().try_fold(0i64, |acc, d| {
                acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
            })
        };
        if b[4] != b'-'
            || b[7] != b'-'
            || (b[10] != b'T' && b[10] != b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !in_range(month, day, hour, min, sec) {
            return None;
        }
        let frac = &b[19..b.len() - 1];
        let (nanos, digits) = match frac.split_first() {
            None => (0, 0),
            Some((b'.', digits))
                if (1..=9).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit) =>
            {
                let mut n: u32 = 0;
                for d in digits {
                    n = n * 10 + u32::from(d - b'0');
                }
                (n * 10u32.pow(9 - digits.len() as u32), digits.len() as u8)
            }
            _ => return None,
        };
        let days = days_from_civil(year, month as u32, day as u32);
        let secs = days * 86_400 + hour * 3600 + min * 60 + sec;
        Some(Ts {
            secs,
            nanos,
            digits,
        })
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            y,
            m,
            d,
            rem / 3600,
            rem / 60 % 60,
            rem % 60
        )?;
        match self.digits {
            0 => {}
            digits => {
                let digits = u32::from(digits.min(9));
                let frac = self.nanos / 10u32.pow(9 - digits);
                write!(f, ".{:0width$}", frac, width = digits as usize)?;
            }
        }
        f.write_str("Z")
    }
}

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Ts;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 UTC time such as 2024-05-01T12:00:00.123456Z")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ts, E> {
                Ts::parse(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether a timestamp's fields are in their ranges (a leap second allowed;
/// the day against the month is left to the date arithmetic).
fn in_range<T: Into<i64>>(month: T, day: T, hour: T, min: T, sec: T) -> bool {
    let (month, day) = (month.into(), day.into());
    (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour.into() <= 23
        && min.into() <= 59
        && sec.into() <= 60
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_written` is the text round trip it stands for, at every precision,
    /// at the edges of four-digit years and past them.
    #[test]
    fn as_written_is_the_text_round_trip() {
        let edges = [
            FIRST_PLAIN - 1,
            FIRST_PLAIN,
            -1,
            0,
            1_714_564_800,
            END_PLAIN - 1,
            END_PLAIN,
        ];
        for secs in edges {
            for nanos in [0, 1, 999, 123_456_789, 999_999_999] {
                for digits in 0..=9 {
                    let ts = Ts::new(secs, nanos, digits);
                    assert_eq!(ts.as_written(), Ts::parse(&ts.to_string()), "{ts:?}");
                }
            }
        }
        let odd = Ts {
            secs: 0,
            nanos: 1_500_000_000,
            digits: 12,
        };
        assert_eq!(odd.as_written(), Ts::parse(&odd.to_string()));
    }

    #[test]
    fn formats_with_capture_precision() {
        let cases = [
            (Ts::from_micros(0, 0), "1970-01-01T00:00:00.000000Z"),
            (
                Ts::from_micros(1_714_564_800, 123_456),
                "2024-05-01T12:00:00.123456Z",
            ),
            (
                Ts::from_nanos(1_714_564_800, 123_456_789),
                "2024-05-01T12:00:00.123456789Z",
            ),
            (Ts::new(951_782_400, 0, 0), "2000-02-29T00:00:00Z"),
            (Ts::new(-1, 500_000_000, 3), "1969-12-31T23:59:59.500Z"),
            (
                Ts::from_micros(4_102_444_799, 999_999),
                "2099-12-31T23:59:59.999999Z",
            ),
        ];
        for (ts, want) in cases {
            assert_eq!(ts.to_string(), want);
            assert_eq!(Ts::parse(want), Some(ts), "round trip of {want}");
        }
    }

    #[test]
    fn parse_rejects_malformed() {
        for bad in [
            "",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00+01:00",
            "2024-13-01T12:00:00Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00.1234567890Z",
            "2024-05-01 12:00:00Z",
            "2024-05-01T1a:00:00Z",
            "２024-05-01T12:00:00Z",
        ] {
            assert_eq!(Ts::parse(bad), None, "{bad:?}");
        }
    }

    /// The general parser, and the fast one where it reads the whole text.
    fn both(s: &str) -> (Option<Ts>, Option<Ts>) {
        let fast = Ts::parse_prefix(s.as_bytes())
            .filter(|&(_, len)| len == s.len())
            .map(|(ts, _)| ts);
        (Ts::parse_full(s), fast)
    }

    #[test]
    fn fast_parse_table() {
        // Written times at every precision, and the edges the general parser guards.
        for (s, fast) in [
            ("2026-11-22T21:55:38.063964Z", true),
            ("2026-11-22T21:55:38.063964123Z", true),
            ("2026-11-22T21:55:38.063Z", true),
            ("2026-11-22T21:55:38Z", true),
            ("2026-11-22t21:55:38.1Z", true),
            ("0000-01-01T00:00:00Z", true),
            ("9999-12-31T23:59:60.999999999Z", true),
            ("2024-02-31T00:00:00Z", true),
            ("2024-05-01T12:00:00.1234567890Z", false),
            ("2024-05-01T12:00:00.Z", false),
            ("2024-05-01T12:00:00", false),
            ("2024-05-01T12:00:00+01:00", false),
            ("2024-00-01T12:00:00Z", false),
            ("2024-13-01T12:00:00Z", false),
            ("2024-05-00T12:00:00Z", false),
            ("2024-05-32T12:00:00Z", false),
            ("2024-05-01T24:00:00Z", false),
            ("2024-05-01T12:60:00Z", false),
            ("2024-05-01T12:00:61Z", false),
            ("2024-05-01 12:00:00Z", false),
            ("2024-05-01T1a:00:00Z", false),
            ("2024-05-01T1/:00:00Z", false),
            ("2024-05-01T1::00:00Z", false),
            ("２024-05-01T12:00:00Z", false),
            ("", false),
        ] {
            let (full, quick) = both(s);
            assert_eq!(quick.is_some(), fast, "{s:?}");
            assert_eq!(full.is_some(), fast, "{s:?}");
            assert_eq!(quick, full, "{s:?}");
            assert_eq!(Ts::parse(s), full, "{s:?}");
        }
        // A prefix: what follows is the caller's (a closing quote).
        assert_eq!(
            Ts::parse_prefix(b"2026-11-22T21:55:38.063964Z\",rest"),
            Ts::parse("2026-11-22T21:55:38.063964Z").map(|ts| (ts, 27))
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]

        /// Where the fast parser reads a time, the general one reads the same.
        #[test]
        fn fast_parse_agrees_with_the_general_parser(
            secs in -70_000_000_000i64..260_000_000_000,
            nanos in 0u32..1_000_000_000,
            digits in 0u8..=9,
            edits in proptest::collection::vec((0usize..32, 0u8..16), 0..3),
        ) {
            let mut b = Ts::new(secs, nanos, digits).to_string().into_bytes();
            for (at, what) in edits {
                let at = at.min(b.len());
                let c = b"0123456789-T:.Z "[usize::from(what)];
                match what % 3 {
                    0 if at < b.len() => { b.remove(at); }
                    1 => b.insert(at, c),
                    _ => if let Some(x) = b.get_mut(at) { *x = c },
                }
            }
            let s = String::from_utf8(b).unwrap();
            let (full, quick) = both(&s);
            if quick.is_some() {
                proptest::prop_assert_eq!(quick, full, "{:?}", s);
            }
            proptest::prop_assert_eq!(Ts::parse(&s), full, "{:?}", s);
        }

        /// Every written time with a four-digit year takes the fast path.
        #[test]
        fn written_times_take_the_fast_path(
            secs in FIRST_PLAIN..END_PLAIN,
            nanos in 0u32..1_000_000_000,
            digits in 0u8..=9,
        ) {
            let ts = Ts::new(secs, nanos, digits);
            let s = ts.to_string();
            let (full, quick) = both(&s);
            proptest::prop_assert_eq!(quick, ts.as_written());
            proptest::prop_assert_eq!(quick, full);
        }
    }

    #[test]
    fn civil_round_trip_over_four_centuries() {
        for days in (-200_000..200_000).step_by(37) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn nanos_carry_and_elapsed() {
        let a = Ts::new(10, 1_500_000_000, 9);
        assert_eq!((a.secs, a.nanos), (11, 500_000_000));
        assert_eq!(a.secs_since(Ts::from_nanos(1, 0)), 10);
        assert_eq!(Ts::from_nanos(1, 0).secs_since(a), 0);
    }
}
