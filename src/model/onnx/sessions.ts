/** ONNX Runtime session creation with the configured execution provider and threads. */
import * as ort from 'onnxruntime-node';
import { ModelError, ModelErrorCode } from '../model.errors';

export interface SessionSettings {
  executionProvider: 'cpu' | 'cuda';
  intraOpThreads: number;
  interOpThreads: number;
  /**
   * Whether idle intra-op threads spin while waiting for work (ONNX Runtime's default, true). Spinning
   * shortens the hand-off between operators on an idle machine; under load its busy-waiting takes CPU
   * from everything else on the same cores.
   */
  allowSpinning?: boolean;
}

export async function createSession(path: string, settings: SessionSettings): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: settings.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    enableCpuMemArena: true,
    enableMemPattern: true,
    ...(settings.intraOpThreads > 0 ? { intraOpNumThreads: settings.intraOpThreads } : {}),
    ...(settings.interOpThreads > 0 ? { interOpNumThreads: settings.interOpThreads } : {}),
    ...(settings.allowSpinning === false
      ? { extra: { 'session.intra_op.allow_spinning': '0', 'session.inter_op.allow_spinning': '0' } }
      : {}),
  };
  try {
    return await ort.InferenceSession.create(path, options);
  } catch (err) {
    const hint =
      settings.executionProvider === 'cuda'
        ? ' (EXECUTION_PROVIDER=cuda needs onnxruntime-node installed with ONNXRUNTIME_NODE_INSTALL=cuda12, CUDA 12 and cuDNN 9)'
        : '';
    throw new ModelError(
      ModelErrorCode.BundleInvalid,
      `Cannot load ONNX graph ${path}${hint}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}
