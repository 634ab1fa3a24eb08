import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  PayloadTooLargeException,
  Put,
  Req,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { CloudError } from '../common/cloud-error.js';
import { APP_CONFIG, type AppConfig } from '../config/config.types.js';
import { USER_REPOSITORY, type UserRepository } from '../persistence/persistence.types.js';
import {
  SIMPLE_STORAGE_LIMITS,
  SIMPLE_STORAGE_REPOSITORY,
  SimpleStorageQuotaError,
  type SimpleStorageLimits,
  type SimpleStorageRepository,
} from '../persistence/simple-storage.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import { AppCredentialGuard, AuthenticatedApp } from './app-credential.guard.js';
import { parseStorageBatch, parseStorageKey, parseStorageUserId, toStorageData } from './simple-storage.request.js';

/**
 * The SDK's `session.simpleStorage`. Data is scoped by (userId, authenticated package)
 * and lives in the store, not in a session: the SDK flushes after its stop webhook was answered.
 */
@ApiTags('sdk: simple storage')
@ApiBearerAuth()
@UseGuards(AppCredentialGuard)
@Controller('api/sdk/simple-storage')
export class SimpleStorageController {
  private readonly limits: SimpleStorageLimits;

  constructor(
    @Inject(SIMPLE_STORAGE_REPOSITORY) private readonly storage: SimpleStorageRepository,
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly registry: SessionRegistry,
  ) {
    this.limits = { ...SIMPLE_STORAGE_LIMITS, maxUsersPerPackage: config.simpleStorageMaxUsersPerPackage };
  }

  /**
   * A valid app key writes only for users the app serves: installed for them, or running in their session (the
   * system dashboard runs without being installed). The same answer whether or not the user exists.
   */
  private async assertServes(userId: string, packageName: string): Promise<void> {
    if (this.registry.get(userId)?.connections.isRunning(packageName)) return;
    const user = await this.users.findById(userId);
    if (user?.installedApps.some((a) => a.packageName === packageName)) return;
    throw new CloudError(
      'PERMISSION_DENIED',
      `${packageName} is not installed for ${userId}: it cannot store data for them`,
    );
  }

  @Get(':userId')
  @ApiOperation({
    summary: 'Everything the authenticated app stored for the user (Authorization: Bearer <packageName>:<apiKey>)',
  })
  @ApiParam({ name: 'userId', description: 'URL-encoded user id (email)' })
  @ApiOkResponse({ schema: { example: { success: true, data: { theme: 'dark' } } } })
  async get(
    @Param('userId') rawUserId: string,
    @AuthenticatedApp() packageName: string,
  ): Promise<{ success: true; data: Record<string, string> }> {
    const entries = await this.storage.list(parseStorageUserId(rawUserId), packageName);
    return { success: true, data: toStorageData(entries) };
  }

  @Put(':userId')
  @HttpCode(200)
  @ApiOperation({
    summary: `Upsert a batch, for a user the app is installed for (or running for; else 403). Values are strings of up to ${SIMPLE_STORAGE_LIMITS.maxValueChars} characters; a store over ${SIMPLE_STORAGE_LIMITS.maxTotalBytes} bytes (UTF-8 keys + values), or a new user past the package's SIMPLE_STORAGE_MAX_USERS_PER_PACKAGE → 413 and nothing of the batch is stored`,
  })
  @ApiBody({ schema: { example: { data: { theme: 'dark', lastSeen: '2025-01-01' } } } })
  @ApiOkResponse({ schema: { example: { success: true } } })
  async put(
    @Param('userId') rawUserId: string,
    @Body() body: unknown,
    @AuthenticatedApp() packageName: string,
  ): Promise<{ success: true }> {
    const userId = parseStorageUserId(rawUserId);
    const entries = parseStorageBatch(body);
    if (entries.length === 0) return { success: true };
    await this.assertServes(userId, packageName);
    try {
      await this.storage.upsert(userId, packageName, entries, this.limits);
    } catch (err) {
      if (err instanceof SimpleStorageQuotaError) {
        throw new PayloadTooLargeException({
          statusCode: 413,
          code: 'STORAGE_LIMIT_EXCEEDED',
          message: `Simple storage limit exceeded: ${err.message}; nothing of this batch was stored`,
        });
      }
      throw err;
    }
    return { success: true };
  }

  @Delete(':userId/:key')
  @ApiOperation({ summary: 'Delete one key (URL-encoded)' })
  @ApiOkResponse({ schema: { example: { success: true, deleted: true } } })
  async deleteKey(
    @Param('userId') rawUserId: string,
    @Param('key') rawKey: string,
    @AuthenticatedApp() packageName: string,
  ): Promise<{ success: true; deleted: boolean }> {
    const deleted = await this.storage.deleteKey(parseStorageUserId(rawUserId), packageName, parseStorageKey(rawKey));
    return { success: true, deleted };
  }

  @Delete(':userId')
  @ApiOperation({ summary: 'Delete everything the app stored for the user' })
  @ApiOkResponse({ schema: { example: { success: true, cleared: true } } })
  async clear(
    @Param('userId') rawUserId: string,
    @Req() req: Request,
    @AuthenticatedApp() packageName: string,
  ): Promise<{ success: true; cleared: boolean }> {
    // The SDK's delete('') and delete('.') reach us as `DELETE …/<userId>/` (an empty segment, or one the URL
    // parser resolved away), which the router would match here: never turn a one-key delete into a clear.
    if (req.originalUrl.split('?')[0]!.endsWith('/')) {
      throw new BadRequestException({
        statusCode: 400,
        code: 'BAD_REQUEST',
        message: 'A key is required after the user id; to clear the store, send DELETE without a trailing slash',
      });
    }
    const cleared = await this.storage.clear(parseStorageUserId(rawUserId), packageName);
    return { success: true, cleared };
  }
}
