//! Length-delimited framing: a 4-byte big-endian length, then that many bytes of body.

use std::io::{self, Read, Write};

/// Largest body either side accepts; a DHCP lease never comes near it.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than `MAX_FRAME_LEN` bytes.
    #[error("frame of {len} bytes exceeds the {MAX_FRAME_LEN}-byte limit")]
    TooLarge {
        /// The announced length, bytes.
        len: usize,
    },
    /// The length prefix is zero.
    #[error("empty frame")]
    Empty,
    /// The peer closed the connection inside a frame.
    #[error("connection closed before a whole frame arrived")]
    Truncated,
    /// The socket failed.
    #[error("I/O error on the IPC socket: {0}")]
    Io(#[from] io::Error),
}

/// `body` with its length header, ready to write.
pub fn encode_frame(body: &[u8]) -> Result<Vec<u8>, FrameError> {
    if body.len() > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len: body.len() });
    }
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooLarge { len: body.len() })?;
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(body);
    Ok(buf)
}

/// The body length announced by a frame header, checked against the limit.
pub fn frame_len(header: [u8; 4]) -> Result<usize, FrameError> {
    match u32::from_be_bytes(header) as usize {
        0 => Err(FrameError::Empty),
        len if len > MAX_FRAME_LEN => Err(FrameError::TooLarge { len }),
        len => Ok(len),
    }
}

/// Writes `body` as one frame.
pub fn write_frame<W: Write>(mut out: W, body: &[u8]) -> Result<(), FrameError> {
    out.write_all(&encode_frame(body)?)?;
    out.flush()?;
    Ok(())
}

/// Reads one frame, refusing lengths above [`MAX_FRAME_LEN`] before allocating anything.
pub fn read_frame<R: Read>(mut input: R) -> Result<Vec<u8>, FrameError> {
    let mut header = [0u8; 4];
    read_exact_or_truncated(&mut input, &mut header)?;
    let len = frame_len(header)?;
    let mut body = vec![0u8; len];
    read_exact_or_truncated(&mut input, &mut body)?;
    Ok(body)
}

fn read_exact_or_truncated<R: Read>(input: &mut R, buf: &mut [u8]) -> Result<(), FrameError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_body() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").unwrap();
        assert_eq!(&wire[..4], &[0, 0, 0, 5]);
        assert_eq!(read_frame(&wire[..]).unwrap(), b"hello");
    }

    #[test]
    fn refuses_oversized_length_without_reading_body() {
        let wire = u32::MAX.to_be_bytes();
        assert!(matches!(
            read_frame(&wire[..]),
            Err(FrameError::TooLarge { .. })
        ));
        let big = vec![0u8; MAX_FRAME_LEN + 1];
        assert!(matches!(
            write_frame(Vec::new(), &big),
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn reports_truncation_and_empty_frames() {
        assert!(matches!(
            read_frame(&[0u8, 0, 0, 9, b'x'][..]),
            Err(FrameError::Truncated)
        ));
        assert!(matches!(
            read_frame(&[0u8, 0][..]),
            Err(FrameError::Truncated)
        ));
        assert!(matches!(
            read_frame(&[0u8, 0, 0, 0][..]),
            Err(FrameError::Empty)
        ));
    }
}
