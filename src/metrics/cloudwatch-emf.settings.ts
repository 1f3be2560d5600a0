import { IsBoolean, IsInt, Matches, Max, Min } from 'class-validator';

/**
 * The worker's queue-depth metric for CloudWatch (ECS target tracking, docs/deploy-ecs.md): with
 * CLOUDWATCH_EMF=true it prints an Embedded Metric Format line every interval, which CloudWatch Logs
 * (awslogs driver, or the CloudWatch agent) turns into metrics without any AWS API call or credentials.
 */
export class CloudWatchEmfSettings {
  @IsBoolean()
  CLOUDWATCH_EMF = false;

  /** A CloudWatch namespace: up to 255 of letters, digits and . - _ / # : (space), not under AWS/. */
  @Matches(/^(?!AWS\/)[A-Za-z0-9 ._/#:-]{1,255}$/, {
    message: 'CLOUDWATCH_EMF_NAMESPACE must be 1-255 of letters, digits, space and . - _ / # :, not AWS/...',
  })
  CLOUDWATCH_EMF_NAMESPACE = 'Captioner';

  /** Seconds between two lines; CloudWatch's standard resolution is 60. */
  @IsInt()
  @Min(10)
  @Max(3600)
  CLOUDWATCH_EMF_INTERVAL_SECONDS = 60;
}
