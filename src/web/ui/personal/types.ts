// The shapes of the answers this page reads (src/server/routes_personal.cpp and
// routes_training.cpp are the reference).

export interface Gpu {
  index: number;
  name: string;
  vram_total_bytes: number;
  vram_free_bytes: number;
}

export interface Machine {
  cpu_model: string;
  logical_cores: number;
  physical_cores: number;
  simd: string[];
  ram_total_bytes: number;
  ram_available_bytes: number;
  disk_free_bytes: number;
  os: string;
  kernel: string;
  arch: string;
  gpus: Gpu[];
  gpu_driver: string;
  gpu_note: string;
}

// fits_gpu, fits_partial_gpu, fits_cpu, tight or will_not_fit (hardware::verdict_name).
export type Verdict = string;

export interface CatalogVariant {
  tag: string;
  quantization: string;
  size_bytes: number;
  size_estimated: boolean;
}

export interface CatalogModel {
  id: string;
  name: string;
  description: string;
  specialty: string;
  use_cases: string[];
  parameters: number;
  architecture: string;
  context_length: number;
  license: string;
  quality: number;
  speed: number;
  group: string;
  starter: boolean;
  tag: string;                // the variant the verdict is for
  size_bytes: number;
  size_estimated: boolean;
  context_assumed: number;
  verdict: Verdict;
  fits: boolean;
  reasons: string[];
  memory_bytes: number;
  variants: CatalogVariant[];
  installed: boolean;
}

export interface Catalog {
  context_length: number;
  machine: Machine;
  models: CatalogModel[];
  recommendations: { use_case: string; model: string | null }[];
}

export type ModelStatus = 'pending' | 'downloading' | 'verifying' | 'installed' | 'failed';

export interface Usage {
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  average_tokens_per_second: number | null;
}

export interface PersonalModel {
  id: number;
  model_id: string;           // the catalog id, or the address it was downloaded from
  custom_name: string;
  status: ModelStatus;
  download_progress: number;  // percent, 0..100
  fine_tuned: boolean;
  fine_tune_version: number;  // the version served; 0 is the base model
  last_training_date: string | null;
  performance_score: number | null;  // tokens/s measured on this machine after the download
  usage_count: number;
  model_size_gb: number;      // GiB; 0 while the size is not known yet
  created_at: string;
  updated_at: string;
  error: string | null;
  usage: Usage;
}

export interface ModelVersion {
  version: number;
  serving: boolean;
  job_id: number | null;
  base_model: string;
  dataset_hash: string;
  eval: Record<string, unknown>;
  previous_version: number;
  remote_model: string;
  created_at: string;
}

export interface Versions {
  id: number;
  model: string;
  served_version: number;
  versions: ModelVersion[];
}

export const UNFINISHED: ModelStatus[] = ['pending', 'downloading', 'verifying'];
export const isUnfinished = (m: PersonalModel) => UNFINISHED.includes(m.status);
