//! The number a user types with number matching, read from a `--number-from` file: the
//! file's only word, or the line `CHALLENGE_ID NUMBER` for this challenge.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use onepush_device::unix_now;
use onepush_protocol::ChallengeId;
use onepush_protocol::api::DeviceChallenge;

/// How often the file is read again while it has no number yet.
const POLL: Duration = Duration::from_millis(200);

/// Reads the number for `challenge` from `file`, waiting (until the deadline) for a
/// tester or the demo bank to write it.
pub async fn wait_for(file: &Path, challenge: &DeviceChallenge) -> Result<u8> {
    loop {
        if let Some(number) = number_in(file, challenge.id)? {
            return Ok(number);
        }
        if unix_now() >= challenge.expires_at.unix_timestamp() {
            bail!(
                "no number for challenge {} in {} before it expired",
                challenge.id,
                file.display()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The number in `file`: a line `CHALLENGE_ID NUMBER`, or the file's only word.
fn number_in(file: &Path, id: ChallengeId) -> Result<Option<u8>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
    };
    let id = id.to_string();
    let words: Vec<&str> = text.split_whitespace().collect();
    let found = match words.as_slice() {
        [only] => Some(*only),
        _ => text.lines().find_map(|line| {
            match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                [line_id, number] if *line_id == id => Some(*number),
                _ => None,
            }
        }),
    };
    found
        .map(|n| {
            n.parse::<u8>()
                .map_err(|_| anyhow!("{n:?} in {} is not a number", file.display()))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_file_holds_one_number_or_lines_per_challenge() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("n");
        let id = ChallengeId::new();
        assert_eq!(number_in(&file, id).unwrap(), None);
        std::fs::write(&file, "42\n").unwrap();
        assert_eq!(number_in(&file, id).unwrap(), Some(42));
        std::fs::write(&file, format!("{} 17\n{id} 58\n", ChallengeId::new())).unwrap();
        assert_eq!(number_in(&file, id).unwrap(), Some(58));
        std::fs::write(&file, format!("{} 17\n", ChallengeId::new())).unwrap();
        assert_eq!(number_in(&file, id).unwrap(), None);
        std::fs::write(&file, "abc").unwrap();
        assert!(number_in(&file, id).is_err());
    }
}
