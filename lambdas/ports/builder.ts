import type { Block, Build, Project } from '../core/model';

export interface BuildRequest {
  readonly project: Project;
  readonly block: Block;
  readonly build: Build;
}

/** A slice of a build log, readable while the build runs. */
export interface BuildLogChunk {
  readonly text: string;
  /** Offset to ask for next (bytes). */
  readonly nextOffset: number;
}

/**
 * Builds blocks. `start` returns once the build is accepted; progress is reported back through
 * the core's build events (`buildStarted`, `buildFinished`), from the same process locally or
 * from EventBridge on AWS.
 */
export interface Builder {
  start(request: BuildRequest): Promise<void>;
  readLog(build: Build, offset: number): Promise<BuildLogChunk>;
}
