// Where a model came from, in words. The row keeps the catalog id (no ':'), the hf:// reference
// or address it was downloaded from, or, for a file imported on this machine, its name (never
// the file's path: the server does not show its paths).

export function sourceOf(modelId: string): string {
  if (/^https?:\/\//i.test(modelId)) {
    try {
      return new URL(modelId).host;
    } catch {
      return modelId;
    }
  }
  if (modelId.startsWith('hf://')) return 'Hugging Face';
  if (/^[a-z0-9][a-z0-9._-]*$/i.test(modelId)) return 'Hugging Face (catalog)';
  return 'a file imported on this machine';
}

// Whether the server can fetch it again (a failed download): not for an imported file, which
// only the machine's own `hearth pull` can import.
export function canDownloadAgain(modelId: string): boolean {
  return sourceOf(modelId) !== 'a file imported on this machine';
}
