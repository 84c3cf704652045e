//! The one error type of the core, mapped once to Python exceptions by the binding crate.

use stark_por_solvency::CircuitError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The ledger is not acceptable: `user` is the 0-based user index when one is at fault.
    #[error("{message}")]
    Ledger { user: Option<usize>, asset: Option<String>, message: String },
    /// A parameter (secret, round id, options) is not acceptable.
    #[error("{0}")]
    Input(String),
    /// The proof file is malformed at byte `offset`.
    #[error("byte {offset}: {message}")]
    Format { offset: usize, message: String },
    /// The proof is well formed but does not prove its statement.
    #[error("{0}")]
    Invalid(String),
    /// The proof's security is below what the verifier requires.
    #[error("proof has {actual} bits of conjectured security, below the required {required}")]
    InsufficientSecurity { required: u32, actual: u32 },
    /// An inclusion proof does not show the user inside the expected root.
    #[error(transparent)]
    Inclusion(#[from] crate::inclusion::InclusionError),
    /// The work folder of a streamed round cannot be used (I/O error or damaged state).
    #[error("{0}")]
    Work(String),
    /// A bug: never caused by input. Reported, never panicked.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    pub(crate) fn format(offset: usize, message: impl Into<String>) -> Self {
        Error::Format { offset, message: message.into() }
    }
}

impl From<CircuitError> for Error {
    fn from(e: CircuitError) -> Self {
        match e {
            CircuitError::InsufficientSecurity { required, actual } => {
                Error::InsufficientSecurity { required, actual }
            },
            CircuitError::RangeBits(_) | CircuitError::LeafCount(_) | CircuitError::TooLarge { .. } => {
                Error::Input(e.to_string())
            },
            CircuitError::UnknownAsset { .. } | CircuitError::OutOfRange { .. } => Error::Ledger {
                user: None,
                asset: None,
                message: e.to_string(),
            },
            CircuitError::UnknownOptions | CircuitError::Shape(_) | CircuitError::Rejected(_) => {
                Error::Invalid(e.to_string())
            },
            CircuitError::Prover(m) => Error::Internal(m),
        }
    }
}
