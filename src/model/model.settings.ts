import { IsBoolean, IsIn, IsInt, IsString, Max, Min, MinLength } from 'class-validator';
import { BatchSettings } from '../config/batch.settings';

/** Settings of the model provider (worker, embedded API, CLI), batching included. */
export class ModelSettings extends BatchSettings {
  @IsString()
  @MinLength(1)
  MODEL_PATH = 'models/blip-base';

  @IsIn(['fp32', 'int8'])
  MODEL_VARIANT: 'fp32' | 'int8' = 'fp32';

  @IsIn(['cpu', 'cuda'])
  EXECUTION_PROVIDER: 'cpu' | 'cuda' = 'cpu';

  /** 0 = ONNX Runtime's default (one thread per physical core). */
  @IsInt()
  @Min(0)
  @Max(256)
  ORT_INTRA_OP_THREADS = 0;

  @IsInt()
  @Min(0)
  @Max(256)
  ORT_INTER_OP_THREADS = 1;

  @IsBoolean()
  MODEL_WARMUP = true;
}
