/**
 * common: what every module may use to fail well. Throw AppError (or a module's coded error) and the
 * global ProblemFilter renders it as RFC 9457 problem+json; document error answers with
 * ApiProblemResponse.
 */
export { AppError, type ProblemShape } from './app-error';
export { ApiProblemResponse, ProblemDto, type ProblemExample } from './problem/api-problem.decorator';
export { CommonProblems, PROBLEM_CONTENT_TYPE, problemType } from './problem/problem';
export { ProblemFilter } from './problem/problem.filter';
export { createValidationPipe } from './validation.pipe';
export { LoggingModule } from './logging/logging.module';
