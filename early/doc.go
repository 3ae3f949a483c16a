// Package early ranks sibling trials by what they show early in training
// and decides which of them to stop.
//
// Siblings are trials of one workload with one step budget that differ in
// their schedule or peak learning rate. At a fraction f of the budget
// (10%, 20%, 30%), each trial's training loss and gradient norm are
// averaged over a window just before step f·budget, and a Rule turns the
// two averages into a score (lower ranks better):
//
//	s = a·log(mean loss) + b·log(mean gradient norm)
//
// The weights a and b are the rule. RuleLoss (a = 1, b = 0) is the plain
// "lowest early loss wins". RulePaper (a = −1, b = 1) is the finding of a
// supervised fine-tuning study of 3–7B models (Pareja et al. 2024, "Unveiling
// the Secret Recipe: A Guide for Supervised Fine-Tuning Small LLMs"): lower
// gradient norms and higher loss early on went with better final
// performance. Which rule holds on which workload is an empirical question;
// Validate measures it.
//
// The window is cut into blocks; s is computed per block and its mean and
// standard error over the blocks give the score and its noise (batch
// means, which tolerate the correlation between neighbouring steps).
//
// Policy.Decide is a stateless pruner: given the siblings' records so far,
// it stops a trial at a checkpoint fraction when its score is worse than
// the best sibling's at the same fraction by more than Z standard errors
// of the difference, and it never stops the best Keep trials. Simulate
// replays finished trials through a policy to count the compute saved and
// the decisions that stopped a trial that would have won.
//
// Using it from a benchmark: group the trials of one problem that share a
// budget; whenever a trial passes a checkpoint fraction, call
// Policy.Decide with every sibling's records so far and cancel the trials
// whose Decision.Stop is set (their compute ends at Decision.Step). Keep
// it off by default: the rule is validated only at small scale
// (docs/papers.md §1). Using it from a dashboard: Rank the runs of one
// project that share a workload and budget at the largest fraction all of
// them have reached and show Rank, Score ± SE, Loss and GradNorm.
package early
