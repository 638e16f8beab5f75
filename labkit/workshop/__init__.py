"""Workshop mode: a course of exercises (workshop/NN-slug/), each a design to start from, faults applied at
start, checks that say when it is done, hints and a reference solution; every student a copy of the lab of
their own, their progress kept for the instructor's class view."""
