//! ASL error names as data: the exact `States.*` spellings plus custom names, and the
//! error value (name + cause) that Retry/Catch match on and histories record.

use std::fmt;

/// An error name as Retry/Catch `ErrorEquals` and `Fail` states see it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorName {
    /// `States.ALL`: a wildcard in ErrorEquals (never raised).
    All,
    /// `States.HeartbeatTimeout`
    HeartbeatTimeout,
    /// `States.Timeout`
    Timeout,
    /// `States.TaskFailed`
    TaskFailed,
    /// `States.Permissions`
    Permissions,
    /// `States.ResultPathMatchFailure`
    ResultPathMatchFailure,
    /// `States.ParameterPathFailure`
    ParameterPathFailure,
    /// `States.QueryEvaluationError`
    QueryEvaluationError,
    /// `States.BranchFailed`
    BranchFailed,
    /// `States.NoChoiceMatched`
    NoChoiceMatched,
    /// `States.IntrinsicFailure`
    IntrinsicFailure,
    /// `States.ExceedToleratedFailureThreshold`
    ExceedToleratedFailureThreshold,
    /// `States.ItemReaderFailed`
    ItemReaderFailed,
    /// `States.ResultWriterFailed`
    ResultWriterFailed,
    /// `States.Runtime`
    Runtime,
    /// `States.DataLimitExceeded`
    DataLimitExceeded,
    /// Any other name: a Fail state's Error, a task's own error name.
    Custom(String),
}

impl ErrorName {
    /// Every predefined `States.*` name, for parsing and validation.
    pub const PREDEFINED: [ErrorName; 16] = [
        ErrorName::All,
        ErrorName::HeartbeatTimeout,
        ErrorName::Timeout,
        ErrorName::TaskFailed,
        ErrorName::Permissions,
        ErrorName::ResultPathMatchFailure,
        ErrorName::ParameterPathFailure,
        ErrorName::QueryEvaluationError,
        ErrorName::BranchFailed,
        ErrorName::NoChoiceMatched,
        ErrorName::IntrinsicFailure,
        ErrorName::ExceedToleratedFailureThreshold,
        ErrorName::ItemReaderFailed,
        ErrorName::ResultWriterFailed,
        ErrorName::Runtime,
        ErrorName::DataLimitExceeded,
    ];

    /// The exact spelling.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorName::All => "States.ALL",
            ErrorName::HeartbeatTimeout => "States.HeartbeatTimeout",
            ErrorName::Timeout => "States.Timeout",
            ErrorName::TaskFailed => "States.TaskFailed",
            ErrorName::Permissions => "States.Permissions",
            ErrorName::ResultPathMatchFailure => "States.ResultPathMatchFailure",
            ErrorName::ParameterPathFailure => "States.ParameterPathFailure",
            ErrorName::QueryEvaluationError => "States.QueryEvaluationError",
            ErrorName::BranchFailed => "States.BranchFailed",
            ErrorName::NoChoiceMatched => "States.NoChoiceMatched",
            ErrorName::IntrinsicFailure => "States.IntrinsicFailure",
            ErrorName::ExceedToleratedFailureThreshold => "States.ExceedToleratedFailureThreshold",
            ErrorName::ItemReaderFailed => "States.ItemReaderFailed",
            ErrorName::ResultWriterFailed => "States.ResultWriterFailed",
            ErrorName::Runtime => "States.Runtime",
            ErrorName::DataLimitExceeded => "States.DataLimitExceeded",
            ErrorName::Custom(name) => name,
        }
    }

    /// Parses a name; unknown names (including unknown `States.*`) become `Custom`.
    pub fn parse(name: &str) -> ErrorName {
        Self::PREDEFINED
            .iter()
            .find(|known| known.as_str() == name)
            .cloned()
            .unwrap_or_else(|| ErrorName::Custom(name.to_owned()))
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A runtime error as ASL sees it: a name to match and a cause to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatesError {
    /// The name Retry/Catch match on.
    pub name: ErrorName,
    /// A human-readable explanation.
    pub cause: String,
}

impl StatesError {
    /// Builds an error from a name and a cause.
    pub fn new(name: ErrorName, cause: impl Into<String>) -> Self {
        StatesError {
            name,
            cause: cause.into(),
        }
    }

    /// The error as AWS reports a runtime failure raised while `state` executes: its cause
    /// gets the prefix
    /// `An error occurred while executing the state '<State>' (entered at the event id #<N>). `.
    /// (Recorded against AWS, e.g. localstack/localstack
    /// tests/aws/services/stepfunctions/v2/scenarios/test_base_scenarios.snapshot.json.)
    /// `States.DataLimitExceeded` keeps its own wording: AWS raises it outside the state's
    /// evaluation ("The state/task '...' returned a result with a size exceeding ...").
    pub fn in_state(self, state: &str, entered_event: u64) -> StatesError {
        if self.name == ErrorName::DataLimitExceeded {
            return self;
        }
        StatesError {
            cause: format!(
                "An error occurred while executing the state '{state}' (entered at the event id #{entered_event}). {}",
                self.cause
            ),
            name: self.name,
        }
    }
}

impl fmt::Display for StatesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.cause)
    }
}

impl std::error::Error for StatesError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in ErrorName::PREDEFINED {
            assert_eq!(ErrorName::parse(name.as_str()), name);
        }
        assert_eq!(
            ErrorName::parse("States.Nope"),
            ErrorName::Custom("States.Nope".into())
        );
        assert_eq!(
            ErrorName::parse("states.all"),
            ErrorName::Custom("states.all".into())
        );
    }
}
