//! Passes over the IR that every rule's condition goes through after its front end and before
//! any backend: [`desugar`] rewrites spellings a front end finds convenient into the one spelling
//! of the core IR, then [`simplify`] removes what the rest of the condition already decides. Both
//! keep the meaning the reference evaluator gives, which `tests/generated.rs` checks on random
//! conditions and events. A Python rule is also read by CloudTrail's documented shapes
//! ([`documented`]), which changes the meaning only for records that break the documentation.

pub mod desugar;
pub mod documented;
pub mod simplify;

pub use desugar::desugar;
pub use simplify::simplify;

use crate::ir::Expr;

/// A Python rule's condition, in the core IR, read by the documented shapes and simplified
/// (negated alternatives spread into negated conjuncts: see [`simplify`]).
pub fn lower(e: &Expr) -> Expr {
    let once = simplify(&documented::assume_documented_shapes(&desugar(e)));
    // Simplifying can write a test the documentation decides (every element of a list passing
    // `true` is "the path holds a list"): read by the shapes once more, then tidy again.
    let again = documented::assume_documented_shapes(&once);
    if again == once {
        once
    } else {
        simplify(&again)
    }
}

/// A Sigma rule's condition, in the core IR and simplified, its negations left where the rule
/// wrote them.
pub fn lower_keeping_negations(e: &Expr) -> Expr {
    simplify::simplify_keeping_negations(&desugar(e))
}
