// The shapes of the training API's answers as this page reads them (src/server/routes_training.cpp,
// routes_conversations.cpp, loop/loop.h). Fields the server may not send yet are optional, and
// the page shows "–" for them rather than failing.

export interface ModelReadiness {
  model: string;
  qualifying_examples: number;
  needed: number;
  ready: boolean;
  conversations?: number;
  rated?: number;
  scored?: number;
  // Counts of the model's scored answers by quality score in tenths: [0, 0.1), ... [0.9, 1.0].
  histogram?: number[];
}

export interface Readiness {
  min_score: number;
  opted_in: boolean;
  message?: string;
  conversations?: number;
  rated?: number;
  models: ModelReadiness[];
}

export interface Settings {
  store_conversations: boolean;
  training_opt_in: boolean;
}

export interface Dataset {
  id: number;
  train_examples: number;
  validation_examples: number;
  created_at: string;
  train_url: string;
  validation_url: string | null;
}

export interface PersonalModel {
  id: number;
  custom_name: string;
  status: string;
  fine_tune_version: number;
}

export interface Hyperparameters {
  n_epochs?: number;
  learning_rate?: number;
  rank?: number;
  batch_size?: number;
  max_steps?: number;
}

export interface Plan {
  model: string;
  examples: number;
  tokens: number;
  epochs: number;
  steps?: number;
  // What the job would train with, auto values resolved: n_epochs, batch_size, rank, learning_rate...
  hyperparameters?: Record<string, number>;
  memory: Record<string, number>;  // "peak", "weights", "adapter", ... in bytes
  available_memory: number | null;
  fits: boolean;
  estimated_seconds: number | null;
  basis: string;
}

export interface CurvePoint {
  step: number;
  loss: number;
  eval_loss?: number;
}

export interface JobMetrics {
  step?: number;
  total_steps?: number;
  loss?: number;
  eval_loss?: number;
  tokens?: number;
  tokens_per_second?: number;
  elapsed_s?: number;
  loss_curve?: CurvePoint[];
}

export interface EvalFigures {
  loss: number;
  perplexity: number;
}

export interface EvalSample {
  prompt: string | { role: string; content: string }[];  // the conversation up to the answer
  expected: string;
  base: string;
  tuned: string;
}

export interface Evaluation {
  metric?: string;
  examples?: number;
  base?: EvalFigures;
  tuned?: EvalFigures;
  served?: { version: number; loss: number; perplexity: number };
  compared_with?: { version: number; loss: number };
  better?: boolean;
  why?: string;
  samples?: EvalSample[];
  first_validation_loss?: number;
  final_validation_loss?: number;
  remote?: { base_url: string; job_id: string; fine_tuned_model: string };
}

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface Job {
  id: number;
  model: string;
  personal_model_id: number;
  status: JobStatus;
  progress: number;
  estimated_completion: string | null;
  error: string | null;
  training_examples: number;
  // requested: what the user asked (numbers or "auto"); used: what the trainer chose.
  hyperparameters: { requested?: Record<string, number | string>; used?: Record<string, number> };
  metrics: JobMetrics;
  eval: Evaluation;
  trainer: string;
  origin: string;
  cancel_requested: boolean;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  deployed_version: number | null;
  fine_tuned_model: string | null;
}

export interface Version {
  version: number;
  serving: boolean;
  job_id: number | null;
  created_at: string;
  eval: Evaluation;
}

export interface Versions {
  id: number;
  model: string;
  served_version: number;
  versions: Version[];
}

export interface Comparison {
  id: number;
  model: string;
  served_version: number;
  job_id: number;
  deployed_version: number | null;
  eval: Evaluation;
}

export interface Schedule {
  id: number;
  model: string;
  enabled: boolean;
  window?: string;
  time_zone?: string;
  next_window?: { start: string; end: string } | null;
  last_outcome?: string;
  last_job_id?: number | null;
}

export interface RemoteTrainer {
  base_url: string | null;
  api_key_set: boolean;
}

export const active = (j: Job) => j.status === 'queued' || j.status === 'running';

// "tiny" and "tiny:latest" are one model: readiness names models as the chats did, personal
// models by their custom name.
export const shortName = (name: string) => name.replace(/:latest$/, '');
export const sameModel = (a: string, b: string) => shortName(a) === shortName(b);
