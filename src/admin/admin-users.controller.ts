import { Controller, Delete, Get, Inject, Param, Post, Put, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CoreTokenService, normalizeUserId } from '../auth/core-token.service.js';
import { CloudError } from '../common/cloud-error.js';
import {
  APP_REPOSITORY,
  USER_REPOSITORY,
  type AppRepository,
  type UserRepository,
} from '../persistence/persistence.types.js';
import { SessionRegistry } from '../session/session-registry.js';
import { AdminGuard } from './admin.guard.js';
import { UnsafeKeysInterceptor } from './unsafe-keys.interceptor.js';
import { TokenView, UserAppParams, UserParams, UserView } from './dto/user.dto.js';

@ApiTags('admin: users')
@ApiBearerAuth()
@UseGuards(AdminGuard)
@UseInterceptors(UnsafeKeysInterceptor)
@Controller('api/admin/users')
export class AdminUsersController {
  constructor(
    @Inject(USER_REPOSITORY) private readonly users: UserRepository,
    @Inject(APP_REPOSITORY) private readonly apps: AppRepository,
    private readonly tokens: CoreTokenService,
    private readonly registry: SessionRegistry,
  ) {}

  @Get(':userId')
  @ApiOkResponse({ type: UserView })
  async get(@Param() params: UserParams): Promise<UserView> {
    const user = await this.users.findById(normalizeUserId(params.userId));
    if (!user) throw new CloudError('USER_NOT_FOUND', `User ${params.userId} does not exist`);
    return user;
  }

  @Put(':userId/apps/:packageName')
  @ApiOperation({ summary: 'Install an app for a user (creates the user if needed)' })
  @ApiOkResponse({ type: UserView })
  async install(@Param() params: UserAppParams): Promise<UserView> {
    if (!(await this.apps.findByPackageName(params.packageName)))
      throw new CloudError('APP_NOT_FOUND', `App ${params.packageName} does not exist`);
    return this.users.installApp(normalizeUserId(params.userId), params.packageName);
  }

  @Delete(':userId/apps/:packageName')
  @ApiOperation({ summary: 'Uninstall an app for a user; a running instance is stopped' })
  @ApiOkResponse({ type: UserView })
  async uninstall(@Param() params: UserAppParams): Promise<UserView> {
    const userId = normalizeUserId(params.userId);
    await this.registry.get(userId)?.apps.stopApp(params.packageName, 'user_disabled');
    const user = await this.users.uninstallApp(userId, params.packageName);
    if (!user) throw new CloudError('USER_NOT_FOUND', `User ${params.userId} does not exist`);
    return user;
  }

  @Post(':userId/token')
  @ApiOperation({ summary: 'Issue a core token (what the phone uses on /glasses-ws); creates the user if needed' })
  @ApiCreatedResponse({ type: TokenView })
  async token(@Param() params: UserParams): Promise<TokenView> {
    const userId = normalizeUserId(params.userId);
    await this.users.findOrCreate(userId);
    return { coreToken: this.tokens.sign(userId) };
  }
}
