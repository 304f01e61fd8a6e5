//! The scheduler: bus intake, Koji and Bodhi reconcilers and the planner that turns events into jobs.
