// Starting and stopping downloads. The download itself runs on the server (it goes on when this
// page is closed or reloaded); the page only asks for it and watches the list.
import { api } from '../lib/api';
import type { PersonalModel } from './types';

export interface DownloadRequest {
  model_id: string;        // a catalog id ("fast-assistant" or "fast-assistant:q8_0"), hf://… or an address
  custom_name?: string;
  force?: boolean;         // download even when this machine looks too small for it
}

export function startDownload(request: DownloadRequest): Promise<PersonalModel> {
  const body: DownloadRequest = { model_id: request.model_id };
  if (request.custom_name?.trim()) body.custom_name = request.custom_name.trim();
  if (request.force) body.force = true;
  return api<PersonalModel>('POST', '/api/personal-models/download', body);
}

// Deleting a row stops its download and throws away what was fetched.
export function removeModel(id: number): Promise<unknown> {
  return api('DELETE', `/api/personal-models/${id}`);
}

// The size in bytes when the server knows it (a catalog entry, or once the file is installed).
export function totalBytes(m: PersonalModel): number {
  return m.model_size_gb > 0 ? m.model_size_gb * 1024 ** 3 : 0;
}
