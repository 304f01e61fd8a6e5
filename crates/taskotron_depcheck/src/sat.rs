//! A small CDCL SAT solver (two watched literals, first-UIP learning,
//! non-chronological backjumping) with a package-manager decision rule:
//! satisfy the requirements of what is installed, trying providers in the
//! order given, and leave everything else out.

/// A literal: variable `v` as `2v` (true) or `2v + 1` (false).
pub(crate) type Lit = u32;

pub(crate) fn pos(var: u32) -> Lit {
    var << 1
}

pub(crate) fn neg(var: u32) -> Lit {
    (var << 1) | 1
}

fn var(lit: Lit) -> usize {
    (lit >> 1) as usize
}

fn is_neg(lit: Lit) -> bool {
    lit & 1 == 1
}

const NONE: u32 = u32::MAX;

/// The result of a solve.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A model: the variables that are true.
    Sat(Vec<u32>),
    /// No model; the original clauses that prove it.
    Unsat(Vec<u32>),
    /// Too many conflicts.
    GaveUp,
}

#[derive(Debug, Default)]
pub(crate) struct Sat {
    nvars: usize,
    /// Clause literals, flat; `starts[c]..starts[c + 1]`.
    lits: Vec<Lit>,
    starts: Vec<u32>,
    originals: u32,
    /// Antecedents of each learned clause (by clause id), for cores.
    learned_from: Vec<Vec<u32>>,
    watches: Vec<Vec<u32>>,
    /// Clauses where the variable is negative and some literal positive:
    /// the requirements to satisfy once it is installed.
    needs: Vec<Vec<u32>>,
    value: Vec<i8>,
    level: Vec<u32>,
    reason: Vec<u32>,
    trail: Vec<Lit>,
    trail_lim: Vec<usize>,
    qhead: usize,
    seen: Vec<bool>,
    empty: bool,
}

impl Sat {
    pub(crate) fn new(nvars: usize) -> Sat {
        Sat {
            nvars,
            starts: vec![0],
            watches: vec![Vec::new(); nvars * 2],
            needs: vec![Vec::new(); nvars],
            value: vec![0; nvars],
            level: vec![0; nvars],
            reason: vec![NONE; nvars],
            seen: vec![false; nvars],
            ..Sat::default()
        }
    }

    fn clause(&self, id: u32) -> &[Lit] {
        let start = self.starts[id as usize] as usize;
        let end = self.starts[id as usize + 1] as usize;
        &self.lits[start..end]
    }

    fn lit_value(&self, lit: Lit) -> i8 {
        let value = self.value[var(lit)];
        if is_neg(lit) { -value } else { value }
    }

    /// Add an original clause (before solving); returns its id. A clause
    /// must not be empty; duplicate literals are allowed.
    pub(crate) fn add(&mut self, clause: &[Lit]) -> u32 {
        let id = self.push_clause(clause);
        self.originals = id + 1;
        if clause.is_empty() {
            self.empty = true;
        }
        if clause.iter().any(|it| !is_neg(*it)) {
            for lit in clause {
                if is_neg(*lit) {
                    self.needs[var(*lit)].push(id);
                }
            }
        }
        id
    }

    fn push_clause(&mut self, clause: &[Lit]) -> u32 {
        let id = u32::try_from(self.starts.len() - 1).unwrap_or(u32::MAX);
        self.lits.extend_from_slice(clause);
        self.starts
            .push(u32::try_from(self.lits.len()).unwrap_or(u32::MAX));
        if clause.len() >= 2 {
            self.watches[clause[0] as usize ^ 1].push(id);
            self.watches[clause[1] as usize ^ 1].push(id);
        }
        id
    }

    fn assign(&mut self, lit: Lit, reason: u32) {
        let v = var(lit);
        self.value[v] = if is_neg(lit) { -1 } else { 1 };
        self.level[v] = u32::try_from(self.trail_lim.len()).unwrap_or(u32::MAX);
        self.reason[v] = reason;
        self.trail.push(lit);
    }

    /// Unit propagation; a conflicting clause, if any.
    fn propagate(&mut self) -> Option<u32> {
        while self.qhead < self.trail.len() {
            let lit = self.trail[self.qhead];
            self.qhead += 1;
            // Clauses watching the literal that just became false.
            let false_lit = lit ^ 1;
            let mut watching = std::mem::take(&mut self.watches[lit as usize]);
            let mut keep = 0;
            let mut conflict = None;
            let mut index = 0;
            while index < watching.len() {
                let id = watching[index];
                index += 1;
                let start = self.starts[id as usize] as usize;
                let end = self.starts[id as usize + 1] as usize;
                if self.lits[start] == false_lit {
                    self.lits.swap(start, start + 1);
                }
                let first = self.lits[start];
                if self.lit_value(first) == 1 {
                    watching[keep] = id;
                    keep += 1;
                    continue;
                }
                let mut moved = false;
                for k in start + 2..end {
                    if self.lit_value(self.lits[k]) != -1 {
                        self.lits.swap(start + 1, k);
                        let new_watch = self.lits[start + 1] as usize ^ 1;
                        self.watches[new_watch].push(id);
                        moved = true;
                        break;
                    }
                }
                if moved {
                    continue;
                }
                watching[keep] = id;
                keep += 1;
                if self.lit_value(first) == -1 {
                    conflict = Some(id);
                    while index < watching.len() {
                        watching[keep] = watching[index];
                        keep += 1;
                        index += 1;
                    }
                } else {
                    self.assign(first, id);
                }
            }
            watching.truncate(keep);
            let rest = std::mem::replace(&mut self.watches[lit as usize], watching);
            self.watches[lit as usize].extend(rest);
            if conflict.is_some() {
                return conflict;
            }
        }
        None
    }

    fn backtrack(&mut self, level: usize) {
        if self.trail_lim.len() <= level {
            return;
        }
        let keep = self.trail_lim[level];
        for lit in self.trail.drain(keep..) {
            let v = var(lit);
            self.value[v] = 0;
            self.reason[v] = NONE;
        }
        self.trail_lim.truncate(level);
        self.qhead = self.trail.len();
    }

    /// First-UIP analysis of a conflict above level 0: the learned clause
    /// (asserting literal first), the level to jump back to, and the
    /// clauses used.
    fn analyze(&mut self, conflict: u32) -> (Vec<Lit>, usize, Vec<u32>) {
        let current = u32::try_from(self.trail_lim.len()).unwrap_or(u32::MAX);
        let mut learned = vec![0];
        let mut used = vec![conflict];
        let mut pending = 0;
        let mut clause = conflict;
        let mut index = self.trail.len();
        let mut skip: Option<usize> = None;
        loop {
            let lits: Vec<Lit> = self.clause(clause).to_vec();
            for lit in lits {
                let v = var(lit);
                if Some(v) == skip || self.seen[v] {
                    continue;
                }
                if self.level[v] == 0 {
                    // Fixed at level 0: its reason is part of the proof.
                    if self.reason[v] != NONE {
                        used.push(self.reason[v]);
                    }
                    continue;
                }
                self.seen[v] = true;
                if self.level[v] == current {
                    pending += 1;
                } else {
                    learned.push(lit);
                }
            }
            // The next literal of the current level on the trail.
            loop {
                index -= 1;
                if self.seen[var(self.trail[index])] {
                    break;
                }
            }
            let lit = self.trail[index];
            let v = var(lit);
            self.seen[v] = false;
            pending -= 1;
            if pending == 0 {
                learned[0] = lit ^ 1;
                break;
            }
            clause = self.reason[v];
            used.push(clause);
            skip = Some(v);
        }
        for lit in &learned[1..] {
            self.seen[var(*lit)] = false;
        }
        // Backjump level: the highest level among the other literals.
        let mut jump = 0;
        let mut best = 1;
        for (at, lit) in learned.iter().enumerate().skip(1) {
            let level = self.level[var(*lit)] as usize;
            if level > jump {
                jump = level;
                best = at;
            }
        }
        if learned.len() > 1 {
            learned.swap(1, best);
        }
        (learned, jump, used)
    }

    /// The original clauses behind a level-0 conflict.
    fn core(&self, conflict: u32) -> Vec<u32> {
        let mut out = Vec::new();
        let mut stack = vec![conflict];
        let mut done = std::collections::HashSet::new();
        let mut vars_done = vec![false; self.nvars];
        while let Some(id) = stack.pop() {
            if !done.insert(id) {
                continue;
            }
            if id < self.originals {
                out.push(id);
            } else if let Some(from) = self.learned_from.get((id - self.originals) as usize) {
                stack.extend_from_slice(from);
            }
            for lit in self.clause(id) {
                let v = var(*lit);
                if !vars_done[v] && self.value[v] != 0 && self.reason[v] != NONE {
                    vars_done[v] = true;
                    stack.push(self.reason[v]);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// The next decision: a literal that satisfies a requirement of an
    /// installed package, or `None` when every requirement is met.
    fn decide(&self, from: &mut usize) -> Option<Lit> {
        while *from < self.trail.len() {
            let lit = self.trail[*from];
            if !is_neg(lit) {
                for id in &self.needs[var(lit)] {
                    let clause = self.clause(*id);
                    if clause.iter().any(|it| self.lit_value(*it) == 1) {
                        continue;
                    }
                    if let Some(choice) = clause
                        .iter()
                        .find(|it| !is_neg(**it) && self.lit_value(**it) == 0)
                    {
                        return Some(*choice);
                    }
                }
            }
            *from += 1;
        }
        // Every installed package's requirements hold; any clause left
        // open needs one of its positive literals (it has no false-able
        // negative one).
        for id in 0..self.originals {
            let clause = self.clause(id);
            if clause.iter().any(|it| self.lit_value(*it) == 1) {
                continue;
            }
            if clause
                .iter()
                .any(|it| is_neg(*it) && self.lit_value(*it) == 0)
            {
                continue;
            }
            if let Some(choice) = clause.iter().find(|it| self.lit_value(**it) == 0) {
                return Some(*choice);
            }
        }
        None
    }

    /// Solve: at most `max_conflicts` conflicts.
    pub(crate) fn solve(&mut self, max_conflicts: usize) -> Outcome {
        if self.empty {
            let empty = (0..self.originals)
                .filter(|id| self.clause(*id).is_empty())
                .collect();
            return Outcome::Unsat(empty);
        }
        // Unit clauses first.
        for id in 0..self.originals {
            let clause = self.clause(id);
            if clause.len() == 1 {
                let lit = clause[0];
                match self.lit_value(lit) {
                    1 => {}
                    -1 => {
                        let other = self.reason[var(lit)];
                        let mut core = self.core(other);
                        core.push(id);
                        core.sort_unstable();
                        core.dedup();
                        return Outcome::Unsat(core);
                    }
                    _ => self.assign(lit, id),
                }
            }
        }
        let mut conflicts = 0;
        let mut from = 0;
        loop {
            if let Some(conflict) = self.propagate() {
                if self.trail_lim.is_empty() {
                    return Outcome::Unsat(self.core(conflict));
                }
                conflicts += 1;
                if conflicts > max_conflicts {
                    return Outcome::GaveUp;
                }
                let (learned, jump, used) = self.analyze(conflict);
                self.backtrack(jump);
                from = 0;
                let id = self.push_clause(&learned);
                self.learned_from.push(used);
                self.assign(learned[0], id);
                continue;
            }
            match self.decide(&mut from) {
                Some(lit) => {
                    self.trail_lim.push(self.trail.len());
                    self.assign(lit, NONE);
                }
                None => {
                    let model = self
                        .trail
                        .iter()
                        .filter(|it| !is_neg(**it))
                        .map(|it| it >> 1)
                        .collect();
                    return Outcome::Sat(model);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_model_through_alternatives() {
        // a; a -> (b | c); b conflicts a; so c.
        let mut sat = Sat::new(3);
        sat.add(&[pos(0)]);
        sat.add(&[neg(0), pos(1), pos(2)]);
        sat.add(&[neg(0), neg(1)]);
        match sat.solve(100) {
            Outcome::Sat(model) => assert_eq!(model, vec![0, 2]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn proves_unsat_with_a_core() {
        // a; a -> b | c; b -> d; c -> d; d conflicts a; e is unrelated.
        let mut sat = Sat::new(5);
        let unit = sat.add(&[pos(0)]);
        sat.add(&[neg(0), pos(1), pos(2)]);
        sat.add(&[neg(1), pos(3)]);
        sat.add(&[neg(2), pos(3)]);
        sat.add(&[neg(3), neg(0)]);
        let unrelated = sat.add(&[neg(4), pos(0)]);
        match sat.solve(100) {
            Outcome::Unsat(core) => {
                assert!(core.contains(&unit));
                assert!(!core.contains(&unrelated));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn backjumps_over_many_choices() {
        // a requires one of x0..x9; each xi requires y; y conflicts a.
        let n = 10;
        let mut sat = Sat::new(n + 2);
        let a = 0;
        let y = u32::try_from(n + 1).unwrap();
        sat.add(&[pos(a)]);
        let choices: Vec<Lit> = std::iter::once(neg(a))
            .chain((1..=n).map(|it| pos(u32::try_from(it).unwrap())))
            .collect();
        sat.add(&choices);
        for x in 1..=n {
            sat.add(&[neg(u32::try_from(x).unwrap()), pos(y)]);
        }
        sat.add(&[neg(y), neg(a)]);
        assert!(matches!(sat.solve(1000), Outcome::Unsat(_)));
    }
}
