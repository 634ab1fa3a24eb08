import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Put,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CoreTokenService } from '../auth/core-token.service.js';
import { normalizeUserId } from '../common/user-id.js';
import { AppUninstalls } from '../shared-state/app-uninstalls.js';
import { CloudError } from '../common/cloud-error.js';
import {
  APP_REPOSITORY,
  USER_REPOSITORY,
  type AppRepository,
  type UserRepository,
} from '../persistence/persistence.types.js';
import { AdminGuard } from './admin.guard.js';
import { UnsafeKeysInterceptor } from './unsafe-keys.interceptor.js';
import { RevokedTokensView, TokenView, UserAppParams, UserParams, UserView } from './dto/user.dto.js';

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
    private readonly uninstalls: AppUninstalls,
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
    await this.uninstalls.stop(params.packageName, userId);
    const user = await this.users.uninstallApp(userId, params.packageName);
    if (!user) throw new CloudError('USER_NOT_FOUND', `User ${params.userId} does not exist`);
    return user;
  }

  @Post(':userId/token')
  @ApiOperation({
    summary:
      'Issue a core token (what the phone uses on /glasses-ws), valid CORE_TOKEN_TTL_SECONDS; creates the user if needed',
  })
  @ApiCreatedResponse({ type: TokenView })
  async token(@Param() params: UserParams): Promise<TokenView> {
    const userId = normalizeUserId(params.userId);
    await this.users.findOrCreate(userId);
    const coreToken = this.tokens.sign(userId);
    return { coreToken, expiresAt: this.tokens.expiresAt(coreToken).toISOString() };
  }

  @Post(':userId/token/revoke')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Revoke every core token of the user minted until now: they are refused at the next upgrade, and the user\'s open glasses sockets close with 4001 "token revoked"',
  })
  @ApiOkResponse({ type: RevokedTokensView })
  async revoke(@Param() params: UserParams): Promise<RevokedTokensView> {
    const userId = normalizeUserId(params.userId);
    const tokenVersion = await this.tokens.revoke(userId);
    return { userId, tokenVersion, revokedBefore: new Date(tokenVersion).toISOString() };
  }
}
