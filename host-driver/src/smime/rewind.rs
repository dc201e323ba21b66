//! Outputs that can take back what was written to them. Signing and encrypting write a
//! message in one pass when they can: the body goes out as it is until a byte proves it
//! must be re-encoded, and then the output is rewound and the message written again. An
//! output that cannot go back (a pipe) gets the body scanned first instead.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

/// An output that can drop what was written to it since a point.
pub trait Rewind: Write {
    /// The point the output stands at now, for [`Rewind::rewind_to`]; `None` when it
    /// cannot go back.
    fn rewind_point(&mut self) -> io::Result<Option<u64>>;

    /// Drops everything written after `point`; writing goes on from there.
    fn rewind_to(&mut self, point: u64) -> io::Result<()>;
}

/// A regular file goes back by truncating; anything else opened as a file (a pipe, a
/// terminal, `/dev/stdout`) cannot.
impl Rewind for File {
    fn rewind_point(&mut self) -> io::Result<Option<u64>> {
        if !self.metadata()?.is_file() {
            return Ok(None);
        }
        self.stream_position().map(Some)
    }

    fn rewind_to(&mut self, point: u64) -> io::Result<()> {
        self.set_len(point)?;
        self.seek(SeekFrom::Start(point))?;
        Ok(())
    }
}

impl Rewind for Vec<u8> {
    fn rewind_point(&mut self) -> io::Result<Option<u64>> {
        Ok(Some(self.len() as u64))
    }

    fn rewind_to(&mut self, point: u64) -> io::Result<()> {
        let point = usize::try_from(point).map_err(io::Error::other)?;
        self.truncate(point);
        Ok(())
    }
}

impl<T: Rewind + ?Sized> Rewind for &mut T {
    fn rewind_point(&mut self) -> io::Result<Option<u64>> {
        (**self).rewind_point()
    }

    fn rewind_to(&mut self, point: u64) -> io::Result<()> {
        (**self).rewind_to(point)
    }
}

/// An output written only forwards: whatever it is, it is never rewound, so the body is
/// scanned before the message is written (a socket, stdout, a writer of one's own).
#[derive(Debug)]
pub struct Forward<W>(pub W);

impl<W: Write> Write for Forward<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Rewind for Forward<W> {
    fn rewind_point(&mut self) -> io::Result<Option<u64>> {
        Ok(None)
    }

    fn rewind_to(&mut self, _point: u64) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this output is written only forwards",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_and_a_vec_drop_what_came_after_the_point() -> io::Result<()> {
        let mut file = tempfile::tempfile()?;
        let mut vec = Vec::new();
        for out in [&mut file as &mut dyn Rewind, &mut vec] {
            out.write_all(b"kept ")?;
            let point = out.rewind_point()?.expect("rewindable");
            out.write_all(b"dropped")?;
            out.rewind_to(point)?;
            out.write_all(b"again")?;
        }
        file.rewind()?;
        let mut written = Vec::new();
        io::Read::read_to_end(&mut file, &mut written)?;
        assert_eq!(written, b"kept again");
        assert_eq!(vec, b"kept again");
        Ok(())
    }

    #[test]
    fn a_forward_output_has_no_point_to_go_back_to() -> io::Result<()> {
        let mut out = Forward(Vec::new());
        assert_eq!(out.rewind_point()?, None);
        assert!(out.rewind_to(0).is_err());
        Ok(())
    }
}
