"""The report's fixed explanations: how to read a robust verdict, and what to do with it."""

READING = (
    "How to read this. A <i>cell</i> is one market draw and one replicate seed, shared by "
    "every strategy. <b>P(beats)</b> is the share of cells where the strategy did better than "
    "the reference on the same cell (ties count half; 50% means no detectable edge); the "
    "brackets are a 95% interval that counts cells of one draw as fewer independent cells. "
    "<b>P(best)</b> is the share of cells where it was the best of all. <b>Regret</b> is what "
    "choosing it costs against the best strategy of the same market draw (on each draw's mean "
    "over its replicates): on average, and in the worst 10% of draws. The <b>minimax-regret</b> "
    "choice is the strategy whose worst regret is smallest: never far from right. When it is "
    "also the best by median, the verdict holds across the plausible markets; when they "
    "differ, the best median wins in the typical market and the minimax choice loses less "
    "where the market turns against it."
)

WHAT_TO_DO = (
    "What to do with it: the parameters a box names are the facts about your market that "
    "decide the choice. Measure them first (a push test for <code>outreach.p_response</code>; "
    "<code>fit-orders</code> and <code>calibrate</code> for what an order export and a monthly "
    "series can show), then narrow their ranges in the comparison file's "
    "<code>[uncertainty]</code> table, with the source, and run it again. <i>Coverage</i> is "
    "the share of the losing draws inside the box, <i>density</i> the share of the draws inside "
    "it that lose."
)
