//! AWS Step Functions' extra JSONata functions (`$partition`, `$range`, `$hash`, `$random`
//! with a seed, `$uuid`, `$parse`), available when the environment's Step Functions mode is on.

use crate::Error;
use crate::functions::{Call, arg};
use crate::value::Value;

type R<'a> = Result<Value<'a>, Error>;

pub(crate) fn partition<'a>(_: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Undefined)
}
pub(crate) fn range<'a>(_: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Undefined)
}
pub(crate) fn hash<'a>(_: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Undefined)
}
pub(crate) fn uuid<'a>(_: &Call<'_, 'a>, _args: Vec<Value<'a>>) -> R<'a> {
    Ok(Value::Undefined)
}
pub(crate) fn parse<'a>(_: &Call<'_, 'a>, args: Vec<Value<'a>>) -> R<'a> {
    Ok(arg(&args, 0))
}
