//! [`Error`]: what a call to the relay can come to besides its answer.

use onepush_protocol::api::Problem;

/// Why a call to the relay's bank API failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The relay refused with an RFC 9457 problem document: [`Problem::slug`] says which
    /// (`user-not-enrolled`, `codes-invalid`, ...; docs/api.md lists them) and
    /// [`Problem::detail`] what to do about it.
    #[error("the relay answered {status}: {} ({})", .problem.detail, .problem.slug())]
    Problem {
        /// The HTTP status.
        status: u16,
        /// The problem document.
        problem: Box<Problem>,
        /// `Retry-After` in seconds, when the relay said when to try again (429
        /// `push-fatigue-lockout`, 503 `maintenance` and `overloaded`).
        retry_after: Option<u64>,
    },
    /// The relay answered with something that is neither the expected body nor a
    /// problem document (a proxy's error page, say).
    #[error("the relay answered {status} with a body that could not be read: {detail}")]
    Unreadable {
        /// The HTTP status.
        status: u16,
        /// What was wrong with the body.
        detail: String,
    },
    /// The relay could not be reached, or the connection failed or timed out.
    #[error("the relay could not be reached: {0}")]
    Transport(#[source] reqwest::Error),
    /// The base URL or a path built from the arguments is not a valid URL.
    #[error("invalid relay URL: {0}")]
    Url(String),
}

impl Error {
    /// The problem document, when the relay sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// The problem's slug, when the relay sent one.
    pub fn slug(&self) -> Option<&str> {
        self.problem().map(Problem::slug)
    }

    /// When to try again, in seconds, when the relay said so (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Problem { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The HTTP status, when the relay answered at all.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Problem { status, .. } | Self::Unreadable { status, .. } => Some(*status),
            Self::Transport(e) => e.status().map(|s| s.as_u16()),
            Self::Url(_) => None,
        }
    }
}
