import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength } from 'class-validator';
import { BatchSettings } from '../config/batch.settings';

/** Settings of the model provider (worker, embedded API, CLI), batching included. */
export class ModelSettings extends BatchSettings {
  @IsString()
  @MinLength(1)
  MODEL_PATH = 'models/blip-base';

  /**
   * A published bundle to pull instead of MODEL_PATH: s3://bucket/prefix/<version>/ (npm run
   * model:publish prints it), https://host/path/<version>/, file:///dir/ (http:// on loopback only).
   */
  @IsOptional()
  @Matches(
    /^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?|https:\/\/[^/\s]+(\/\S*)?|http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/\S*)?|file:\/\/\/\S+)$/,
    {
      message: 'must be s3://bucket/prefix/, https://host/path/, file:///dir/ (http:// on loopback only)',
    },
  )
  MODEL_URI?: string = undefined;

  /** Where MODEL_URI is pulled to, one sub-directory per bundle version (an emptyDir or a PVC). */
  @IsString()
  @MinLength(1)
  MODEL_CACHE_DIR = 'models/cache';

  /** Region of the S3 client; unset = us-east-1, and a bucket elsewhere is followed by redirect. */
  @IsOptional()
  @Matches(/^[a-z]{2}(-[a-z]+)+-\d+$/, { message: 'must be an AWS region such as eu-west-1' })
  AWS_REGION?: string = undefined;

  /** Path-style S3 addressing, for S3-compatible servers (MinIO, moto) at AWS_ENDPOINT_URL. */
  @IsBoolean()
  MODEL_S3_FORCE_PATH_STYLE = false;

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

  /** ONNX Runtime's idle threads busy-wait for work (its default); false lets them sleep. */
  @IsBoolean()
  ORT_ALLOW_SPINNING = true;

  @IsBoolean()
  MODEL_WARMUP = true;
}
