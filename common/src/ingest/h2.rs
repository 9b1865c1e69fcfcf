//! The server's half of an HTTP/2 connection: what we must write back so a
//! mirroring proxy keeps sending. The requests themselves are parsed by
//! `http::ServerConn`; this only walks the client's frames to answer
//! SETTINGS and PING, give back flow-control credit for DATA, and end every
//! stream whose request ended with a bodiless `:status 200`. No HPACK
//! decoding is needed for that (`:status 200` is static-table entry 8).

/// The client connection preface.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;
/// Largest non-DATA frame buffered whole.
const MAX_FRAME: usize = 1 << 20;

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const SETTINGS: u8 = 4;
const PING: u8 = 6;
const GOAWAY: u8 = 7;
const WINDOW_UPDATE: u8 = 8;
const CONTINUATION: u8 = 9;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// Why the client's frames cannot be followed.
pub type H2Error = &'static str;

/// Server-side HTTP/2 framing state.
#[derive(Debug)]
pub struct H2Server {
    preface_left: usize,
    buf: Vec<u8>,
    /// Bytes of a DATA payload still to skip.
    skip: usize,
    /// A header block continues; its stream and whether the request ends with it.
    cont: Option<(u32, bool)>,
    /// Streams answered so far.
    pub answered: u64,
    /// The client sent GOAWAY.
    pub goaway: bool,
}

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let len = payload.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
}

/// The bytes that answer one stream: `:status 200`, no body.
pub fn answer(out: &mut Vec<u8>, stream: u32) {
    frame(out, HEADERS, END_STREAM | END_HEADERS, stream, &[0x88]);
}

impl H2Server {
    /// A connection that starts with the client preface (prior knowledge,
    /// or right after we answered `Upgrade: h2c` with 101). `out` gets our
    /// own preface (an empty SETTINGS frame).
    pub fn new(out: &mut Vec<u8>) -> H2Server {
        frame(out, SETTINGS, 0, 0, &[]);
        H2Server {
            preface_left: PREFACE.len(),
            buf: Vec::new(),
            skip: 0,
            cont: None,
            answered: 0,
            goaway: false,
        }
    }

    /// A GOAWAY frame: `last` is the highest stream processed, `code` the
    /// error code (0: no error).
    pub fn goaway(out: &mut Vec<u8>, last: u32, code: u32) {
        let mut p = [0u8; 8];
        p[..4].copy_from_slice(&(last & 0x7fff_ffff).to_be_bytes());
        p[4..].copy_from_slice(&code.to_be_bytes());
        frame(out, GOAWAY, 0, 0, &p);
    }

    /// Takes client bytes; what we must write back is appended to `out`.
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), H2Error> {
        if self.preface_left > 0 {
            let off = PREFACE.len() - self.preface_left;
            let take = self.preface_left.min(data.len());
            if PREFACE.get(off..off + take) != data.get(..take) {
                return Err("h2_bad_preface");
            }
            self.preface_left -= take;
            data = data.get(take..).unwrap_or_default();
        }
        if self.skip > 0 {
            let take = self.skip.min(data.len());
            self.skip -= take;
            data = data.get(take..).unwrap_or_default();
        }
        if data.is_empty() {
            return Ok(());
        }
        self.buf.extend_from_slice(data);
        let buf = std::mem::take(&mut self.buf);
        let res = self.frames(&buf, out);
        match res {
            Ok(used) => {
                self.buf = buf;
                self.buf.drain(..used.min(self.buf.len()));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Walks whole frames in `buf`; returns the bytes used.
    fn frames(&mut self, buf: &[u8], out: &mut Vec<u8>) -> Result<usize, H2Error> {
        let mut pos = 0;
        loop {
            if self.skip > 0 {
                let take = self.skip.min(buf.len() - pos);
                self.skip -= take;
                pos += take;
                if self.skip > 0 {
                    return Ok(pos);
                }
            }
            let rest = buf.get(pos..).unwrap_or_default();
            let Some(h) = rest.get(..FRAME_HEADER) else {
                return Ok(pos);
            };
            let len = usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
            let (kind, flags) = (h[3], h[4]);
            let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
            if let Some((cs, _)) = self.cont {
                if kind != CONTINUATION || stream != cs {
                    return Err("h2_bad_frame");
                }
            }
            if kind == DATA {
                pos += FRAME_HEADER;
                self.skip = len;
                if len > 0 {
                    // Give the credit back at once: we keep nothing.
                    let inc = (len as u32).to_be_bytes();
                    frame(out, WINDOW_UPDATE, 0, 0, &inc);
                    if flags & END_STREAM == 0 {
                        frame(out, WINDOW_UPDATE, 0, stream, &inc);
                    }
                }
                if flags & END_STREAM != 0 {
                    self.answer(out, stream);
                }
                continue;
            }
            if len > MAX_FRAME {
                return Err("h2_frame_too_large");
            }
            let Some(payload) = rest.get(FRAME_HEADER..FRAME_HEADER + len) else {
                return Ok(pos);
            };
            pos += FRAME_HEADER + len;
            match kind {
                HEADERS => {
                    let ends = flags & END_STREAM != 0;
                    if flags & END_HEADERS != 0 {
                        if ends {
                            self.answer(out, stream);
                        }
                    } else {
                        self.cont = Some((stream, ends));
                    }
                }
                CONTINUATION => match self.cont {
                    Some((s, ends)) if s == stream => {
                        if flags & END_HEADERS != 0 {
                            self.cont = None;
                            if ends {
                                self.answer(out, stream);
                            }
                        }
                    }
                    _ => return Err("h2_bad_frame"),
                },
                SETTINGS if flags & ACK == 0 && stream == 0 => {
                    if len % 6 != 0 {
                        return Err("h2_bad_frame");
                    }
                    frame(out, SETTINGS, ACK, 0, &[]);
                }
                PING if flags & ACK == 0 => {
                    if len != 8 {
                        return Err("h2_bad_frame");
                    }
                    frame(out, PING, ACK, 0, payload);
                }
                GOAWAY => self.goaway = true,
                _ => {}
            }
        }
    }

    fn answer(&mut self, out: &mut Vec<u8>, stream: u32) {
        if stream != 0 {
            answer(out, stream);
            self.answered += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        frame(&mut v, kind, flags, stream, payload);
        v
    }

    /// Splits our output into (kind, flags, stream, payload) frames.
    fn frames(mut b: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
        let mut v = Vec::new();
        while b.len() >= 9 {
            let len = usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
            let s = u32::from_be_bytes([b[5], b[6], b[7], b[8]]);
            v.push((b[3], b[4], s, b[9..9 + len].to_vec()));
            b = &b[9 + len..];
        }
        v
    }

    #[test]
    fn answers_control_frames_and_finished_streams() {
        let mut input = PREFACE.to_vec();
        input.extend(f(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]));
        input.extend(f(PING, 0, 0, b"12345678"));
        input.extend(f(HEADERS, END_STREAM | END_HEADERS, 1, &[0x82]));
        input.extend(f(HEADERS, END_HEADERS, 3, &[0x83]));
        input.extend(f(DATA, 0, 3, b"abc"));
        input.extend(f(DATA, END_STREAM, 3, b"de"));
        input.extend(f(HEADERS, END_STREAM, 5, &[0x82]));
        input.extend(f(CONTINUATION, END_HEADERS, 5, &[0x84]));
        type Want = (u8, u8, u32);
        let want: &[Want] = &[
            (SETTINGS, 0, 0),
            (SETTINGS, ACK, 0),
            (PING, ACK, 0),
            (HEADERS, END_STREAM | END_HEADERS, 1),
            (WINDOW_UPDATE, 0, 0),
            (WINDOW_UPDATE, 0, 3),
            (WINDOW_UPDATE, 0, 0),
            (HEADERS, END_STREAM | END_HEADERS, 3),
            (HEADERS, END_STREAM | END_HEADERS, 5),
        ];
        // Whole, and split at every byte: the same answers.
        for step in [input.len(), 1, 7] {
            let mut out = Vec::new();
            let mut s = H2Server::new(&mut out);
            for chunk in input.chunks(step) {
                s.feed(chunk, &mut out).unwrap();
            }
            let got: Vec<Want> = frames(&out).iter().map(|x| (x.0, x.1, x.2)).collect();
            assert_eq!(got, want, "step {step}");
            assert_eq!(s.answered, 3);
            let ping = frames(&out).into_iter().find(|x| x.0 == PING).unwrap();
            assert_eq!(ping.3, b"12345678");
        }
    }

    #[test]
    fn refuses_what_it_cannot_follow() {
        let cases: &[(&str, Vec<u8>, H2Error)] = &[
            (
                "bad preface",
                b"PRI * HTTP/1.1\r\n\r\n".to_vec(),
                "h2_bad_preface",
            ),
            (
                "interrupted header block",
                [
                    PREFACE.to_vec(),
                    f(HEADERS, 0, 1, &[0x82]),
                    f(DATA, 0, 1, b"x"),
                ]
                .concat(),
                "h2_bad_frame",
            ),
            (
                "huge control frame",
                [PREFACE.to_vec(), vec![0x20, 0, 0, SETTINGS, 0, 0, 0, 0, 0]].concat(),
                "h2_frame_too_large",
            ),
            (
                "short ping",
                [PREFACE.to_vec(), f(PING, 0, 0, b"1234")].concat(),
                "h2_bad_frame",
            ),
        ];
        for (name, input, want) in cases {
            let mut out = Vec::new();
            let mut s = H2Server::new(&mut out);
            assert_eq!(s.feed(input, &mut out), Err(*want), "{name}");
        }
    }
}
